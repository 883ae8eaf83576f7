"""The project's settings are read once, by ``config.settings_from_env`` (called by the definitions
and by the command-line entry points): no other module of the package reads the environment for
a project setting. The few other reads are named here, each with why it is not a project setting.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dagster as dg
import pytest

from nba_assets.config import Settings, settings_from_env

from .conftest import lake_settings

PACKAGE = Path(__file__).resolve().parent.parent / "nba_assets"
SETTINGS_MODULE = "config.py"

# (module, variable or "*" for the whole environment) -> why it may read it
ALLOWED = {
    ("io/objects.py", "STORAGE_EMULATOR_HOST"): "the Google client library's own switch (its endpoint comes from it)",
    ("gameday.py", "*"): "CLI entry point: hands its environment to the dg/dagster processes it starts",
    ("gameday.py", "PATH"): "CLI entry point: the venv's bin first on the child processes' PATH",
    ("gameday.py", "DAGSTER_HOME"): "Dagster's own switch, set for the game day's instance",
    ("instance.py", "NBA_DAGSTER_POSTGRES_URL"): "CLI entry point: an argparse default",
    ("postgres_server.py", "NBA_PG_BIN"): "the test and bench PostgreSQL server's binaries (not a setting of the "
    "pipeline: no asset, sensor or resource reads it)",
    ("alerts.py", "*"): "the alert webhook is a secret read when an alert is sent, and the values of "
    "secret-named variables are read to redact them from the alert",
}


def _reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, variable) of every environment read; ``*`` where the variable is not a literal."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            out += [(node.lineno, "*") for a in node.names if a.name in ("environ", "getenv")]
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"):
            continue
        if node.attr not in ("environ", "getenv"):
            continue
        out.append((node.lineno, "*"))
    for node in ast.walk(tree):  # name the literal ones: os.environ.get("X"), os.environ["X"], os.getenv("X")
        name, arg = None, None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "get" and _is_os_environ(f.value) or f.attr == "getenv" and _is_os(f.value):
                arg = node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            arg = node.slice
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            name = arg.value
        if name:
            out = [(line, v) for line, v in out if line != node.lineno or v != "*"] + [(node.lineno, name)]
    return out


def _is_os(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "os"


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _is_os(node.value)


def test_no_module_but_the_settings_reads_the_environment() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == SETTINGS_MODULE:
            continue
        for line, name in _reads(ast.parse(path.read_text())):
            if (module, name) not in ALLOWED:
                found[f"{module}:{line}"] = name
    assert not found, f"environment read outside {SETTINGS_MODULE} (read it in settings_from_env): {found}"


def test_the_finder_sees_each_form_of_read() -> None:
    source = "\n".join(
        ["import os", "from os import getenv", "a = os.environ.get('A')", "b = os.environ['B']"]
        + ["c = os.getenv('C')", "d = {**os.environ}"]
    )
    assert sorted(name for _, name in _reads(ast.parse(source))) == ["*", "*", "A", "B", "C"]


def test_settings_from_a_mapping_with_the_defaults() -> None:
    settings = settings_from_env({})
    assert settings.backend == "local" and settings.object_store == "local" and settings.replay_dir == ""
    assert settings.unresolved_names_warn_threshold == 5 and settings.unmatched_odds_warn_threshold == 0
    env = {
        "NBA_LAKE_DIR": "/tmp/some-lake",
        "NBA_UNRESOLVED_NAMES_WARN_THRESHOLD": "2",
        "NBA_SNAPSHOT_TIMES_ET": "06:00,13:00",
        "NBA_SNAPSHOT_LEADS_MIN": "90,30",
        "NBA_PREDICTIONS_DEADLINE_ET": "08:30",
        "ODDS_API_KEY": "secret-value",
        "ODDS_API_BASE_URL": "http://127.0.0.1:9",
    }
    settings = settings_from_env(env)
    assert settings.lake_dir == "/tmp/some-lake" and settings.unresolved_names_warn_threshold == 2
    assert [t.isoformat("minutes") for t in settings.snapshot_plan()["snapshot_times"]] == ["06:00", "13:00"]
    assert [d.total_seconds() / 60 for d in settings.snapshot_plan()["snapshot_leads"]] == [90, 30]
    assert settings.secrets == ("ODDS_API_KEY",) and "secret-value" not in repr(settings)  # names, never values
    assert settings.base_urls == {"odds_api": "http://127.0.0.1:9"}
    with pytest.raises(ValueError, match=r"NBA_UNMATCHED_ODDS_WARN_THRESHOLD='many': expected an integer"):
        settings_from_env({"NBA_UNMATCHED_ODDS_WARN_THRESHOLD": "many"})
    with pytest.raises(ValueError, match=r"NBA_SNAPSHOT_LEADS_MIN='ninety'"):
        settings_from_env({"NBA_SNAPSHOT_LEADS_MIN": "ninety"})


def test_the_definitions_configure_every_resource_from_the_settings(tmp_path, monkeypatch) -> None:
    """Built from ``Settings``, not the environment: a lake dir in the environment changes nothing."""
    from nba_assets.definitions import build_definitions

    monkeypatch.setenv("NBA_LAKE_DIR", str(tmp_path / "not-this-one"))
    settings = lake_settings(tmp_path / "lake", unresolved_names_warn_threshold=1, predictions_deadline_et="08:15")
    defs = build_definitions(settings=dataclasses_replace(settings, edge_sensors="on"))
    resources = defs.resources
    assert resources["lake"].lake_dir == str((tmp_path / "lake").resolve())
    assert resources["io_manager"].lake.lake_dir == resources["model_store"].lake.lake_dir == resources["lake"].lake_dir
    assert resources["apis"].lake.lake_dir == resources["lake"].lake_dir
    assert resources["raw_checks"].unresolved_names_per_day == 1
    spec = next(s for s in defs.resolve_all_asset_specs() if s.key == dg.AssetKey(["exports", "predictions_json"]))
    assert spec.freshness_policy.deadline_cron == "15 8 * * *"
    assert isinstance(settings, Settings)


def dataclasses_replace(settings: Settings, **changes) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, **changes)
