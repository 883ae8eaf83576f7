"""``make run`` (``python -m nba_assets.run``) starts the run ``dg launch`` starts, in one process.

One real game date (2024-11-15, cut from data/) into two fresh lakes and instances: one through
``python -m nba_assets.run``, one through ``dg launch --assets '*' --partition-range D...D`` followed
by ``python -m nba_assets.summary`` (what ``make run`` ran before). Both runs are the same job with
the same tags, asset selection and code pointer, they materialize the same partitions, leave the
same files and the same rows, and print the same summary (a fresh lake: no history, so no
predictions; the run is what is compared). A run that fails exits 1 before the summary.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets import run
from nba_assets.gameday import child_env
from nba_assets.replay import build_archive

from .conftest import BOX_SCORES, LINES, REPO

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

D = date(2024, 11, 15)
DG = Path(sys.executable).parent / "dg"


def test_the_module_names_the_code_location_and_the_run_config_dg_and_make_use() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    assert run.CODE_LOCATION == project["code_location_target_module"]
    [line] = [ln for ln in (REPO / "Makefile").read_text().splitlines() if ln.startswith("RUN_CONFIG :=")]
    assert line == f"RUN_CONFIG := --config-json '{run.RUN_CONFIG}'"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("run_archive")
    keep = pl.col("game_date") == D.isoformat()
    pl.read_parquet(BOX_SCORES).filter(keep).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(d / "lines.parquet")
    return build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")


def _call(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _files(lake: Path) -> list[str]:
    """The lake's files; a landing file's name (its fetch time) reduced to its folder."""
    out = set()
    for path in lake.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(lake)
            out.add(str(rel.parent) + "/*" if rel.parts[0] == "landing" else str(rel))
    return sorted(out)


def _run_view(home: Path) -> tuple[dict, list[tuple[str, str | None]]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [record] = instance.get_run_records()
        r = record.dagster_run
        assert r.status == dg.DagsterRunStatus.SUCCESS
        view = {
            "job": r.job_name,
            "tags": dict(r.tags),
            "selection": sorted(k.to_user_string() for k in r.asset_selection or ()),
            # the code the run was reconstructed from (a module pointer: what dg loads)
            "code_pointer": r.job_code_origin.repository_origin.code_pointer.describe(),
        }
        events = instance.get_records_for_run(r.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        materialized = sorted(
            (e.event_log_entry.dagster_event.asset_key.to_user_string(), e.event_log_entry.dagster_event.partition)
            for e in events
        )
    return view, materialized


def _summary_lines(output: str) -> list[str]:
    """The summary's lines (from ``lake:`` on), the lake's own path taken out."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("lake: "))
    return [re.sub(r"/\S+/lake_[ab]", "LAKE", line) for line in lines[start:]]


def test_make_run_starts_the_run_dg_launch_starts_and_prints_the_same_summary(archive, tmp_path) -> None:
    day = D.isoformat()
    one = child_env(tmp_path / "home_a", tmp_path / "lake_a", archive, NBA_COMPONENT_CATALOG="off")
    done = _call([sys.executable, "-m", "nba_assets.run", one["DAGSTER_HOME"], "--start", day, "--end", day], one)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    two = child_env(tmp_path / "home_b", tmp_path / "lake_b", archive, NBA_COMPONENT_CATALOG="off")
    assert _call([sys.executable, "-m", "nba_assets.instance", str(tmp_path / "home_b")], two).returncode == 0
    launched = _call([str(DG), "launch", "--assets", "*", "--partition-range", f"{day}...{day}"], two)
    assert launched.returncode == 0, (launched.stdout + launched.stderr)[-4000:]
    summary = _call([sys.executable, "-m", "nba_assets.summary", "--start", day, "--end", day], two)
    assert summary.returncode == 0, summary.stderr[-4000:]

    view_a, materialized_a = _run_view(tmp_path / "home_a")
    view_b, materialized_b = _run_view(tmp_path / "home_b")
    assert view_a == view_b
    assert view_a["tags"]["dagster/asset_partition_range_start"] == day
    assert view_a["code_pointer"] == f"from {run.CODE_LOCATION} import defs", view_a["code_pointer"]
    assert materialized_a == materialized_b
    assert ("nba_predictions/player_prop_predictions", day) in materialized_a
    assert _files(tmp_path / "lake_a") == _files(tmp_path / "lake_b")
    for table in ("nba_raw/odds_api_player_points_props", "nba_analytics/player_game_summary"):
        part = f"{table}/game_date={day}/part-0.parquet"
        a, b = pl.read_parquet(tmp_path / "lake_a" / part), pl.read_parquet(tmp_path / "lake_b" / part)
        assert a.height > 0 and a.equals(b)
    printed = _summary_lines(done.stdout)
    assert printed == _summary_lines(summary.stdout)
    assert f"partitions: {day}..{day} (1 days)" in printed
    assert any(re.match(r"\s+nba_analytics\.player_game_summary\s+259 rows\s+1 partitions", line) for line in printed)


def test_a_failed_run_exits_1_before_the_summary(archive, tmp_path) -> None:
    day = D.isoformat()
    env = child_env(tmp_path / "home", tmp_path / "lake", tmp_path / "no_archive")  # not a replay archive
    done = _call([sys.executable, "-m", "nba_assets.run", env["DAGSTER_HOME"], "--start", day, "--end", day], env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-4000:]
    assert "Materialization failed." in output
    assert "lake: " not in done.stdout
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
