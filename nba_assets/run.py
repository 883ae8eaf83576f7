"""``make run``: the instance file, the whole graph for START..END in one run, then the summary, in
one process.

    DAGSTER_HOME=/abs/home python -m nba_assets.run /abs/home --start 2024-11-15 --end 2024-11-15 [--config-json JSON]

The instance directory is given as an argument (as to ``python -m nba_assets.instance``; make
passes ``$(DAGSTER_HOME)``); the run itself opens the instance of ``DAGSTER_HOME``, as
``dg launch`` does.

The run is the one ``dg launch --assets '*' --partition-range START...END`` starts: the same Dagster
function (``dagster._cli.asset.asset_materialize_command_impl``, which ``dg launch`` calls) on the
code location's module as ``pyproject.toml`` names it for dg (``CODE_LOCATION``), so the same job,
tags, run config and event log, in the UI as in the lake. What it leaves out is the cost of three
interpreters for one day's run: dg's own CLI (its ``labs`` and AI commands, typer, rich and
prompt_toolkit: ~0.5 s of imports before any Dagster code runs), a second interpreter that imports
polars and the lake code again for the summary (~0.4 s), and a third for the instance file.
``dg launch`` stays the command for a run outside make (``.ci/run`` launches one day with it).

A failed run prints Dagster's error and exits 1 before the summary, as ``dg launch`` followed by the
summary did under make.
"""

from __future__ import annotations

import argparse
import gc
import sys
from datetime import date
from pathlib import Path

# The code location dg loads for this project ([tool.dg.project] code_location_target_module in
# pyproject.toml; nba_assets_tests/test_run.py checks that they agree).
CODE_LOCATION = "nba_assets.definitions"
# Run logs at INFO on the console (the DEBUG event stream of a four-season run is ~10k lines).
RUN_CONFIG = '{"loggers": {"console": {"config": {"log_level": "INFO"}}}}'
# What this module relies on of Dagster's internals (checked beside the storage's, in test_event_storage.py).
DAGSTER_INTERNALS = ("dagster._cli.asset.asset_materialize_command_impl",)


def launch(start: date, end: date, config_json: str = RUN_CONFIG) -> None:
    """The run of ``dg launch --assets '*' --partition-range START...END`` (raises on failure)."""
    from dagster._cli.asset import asset_materialize_command_impl

    asset_materialize_command_impl(
        select="*",
        partition=None,
        partition_range=f"{start.isoformat()}...{end.isoformat()}",
        config=(),
        config_json=config_json,
        module_name=CODE_LOCATION,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the whole graph for START..END in one run, then the summary")
    parser.add_argument("home", type=Path, help="the instance directory (make passes $DAGSTER_HOME)")
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    parser.add_argument("--config-json", default=RUN_CONFIG, help="the run config (dg launch's --config-json)")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    from nba_assets import instance

    instance.main([str(args.home)])  # make instance: dagster.yaml, and the pool slots of dead runs freed
    import click

    try:
        launch(args.start, args.end, args.config_json)
    except click.ClickException as exc:  # "Materialization failed." and the like, as dg prints them
        exc.show()
        return exc.exit_code
    from nba_assets import summary

    print(summary.summary(args.start, args.end, summary.lake_for(summary.settings_from_env())), flush=True)
    # Everything is printed: spare the interpreter's final cyclic collections over Dagster's and
    # polars' objects; reference counting still frees them.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
