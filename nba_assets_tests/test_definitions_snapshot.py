"""A snapshot of the code location: every change to the graph is a reviewed diff.

``snapshots/definitions.json`` records, for every asset, its key, group, kinds, partitions, backfill
policy, IO manager, each dependency with its partition mapping, its automation condition and its
checks (blocking or not); and every sensor, schedule and job. The test rebuilds it from the
Definitions the code location serves and compares. After an intended change, rewrite it with

    .venv/bin/python -m nba_assets_tests.test_definitions_snapshot

and review ``git diff nba_assets_tests/snapshots/definitions.json`` like any other change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dagster as dg

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "definitions.json"


def _partitions(partitions_def) -> dict | None:
    if partitions_def is None:
        return None
    out: dict = {"type": type(partitions_def).__name__}
    for attr in ("start", "timezone", "fmt", "cron_schedule", "end_offset"):
        value = getattr(partitions_def, attr, None)
        if value is not None:
            out[attr] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _mapping(mapping) -> dict | None:
    if mapping is None:
        return None
    out: dict = {"type": type(mapping).__name__}
    for attr in ("start_offset", "end_offset", "allow_nonexistent_upstream_partitions"):
        if hasattr(mapping, attr):
            out[attr] = getattr(mapping, attr)
    return out


def _condition(condition) -> str | None:
    """The condition as Dagster describes it (its label tree), independent of object identity."""
    return None if condition is None else _describe(condition)


def _describe(condition) -> str:
    name = condition.get_label() or condition.name
    children = [_describe(child) for child in condition.children]
    return f"{name}({', '.join(children)})" if children else name


def snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    checks_by_asset: dict[str, list] = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        node = graph.get_check_spec(check_key)
        checks_by_asset.setdefault(check_key.asset_key.to_user_string(), []).append(
            {"name": check_key.name, "blocking": bool(node.blocking)}
        )
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        name = key.to_user_string()
        deps = {}
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            deps[parent.to_user_string()] = _mapping(graph.get_partition_mapping(key, parent))
        policy = node.backfill_policy
        assets[name] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "materializable": node.is_materializable,
            "partitions": _partitions(node.partitions_def),
            "backfill_policy": policy.policy_type.value if policy else None,
            "io_manager_key": getattr(node, "io_manager_key", None) if node.is_materializable else None,
            "pools": sorted(node.pools or []) if hasattr(node, "pools") else [],
            "deps": deps,
            "automation_condition": _condition(node.automation_condition),
            "checks": checks_by_asset.get(name, []),
        }
    sensors = {
        s.name: {
            "type": type(s).__name__,
            "default_status": s.default_status.value,
            "interval_s": s.minimum_interval_seconds,
        }
        for s in sorted(defs.sensors or [], key=lambda s: s.name)
    }
    schedules = {s.name: s.cron_schedule for s in sorted(defs.schedules or [], key=lambda s: s.name)}
    jobs = sorted(j.name for j in defs.jobs or [] if not j.name.startswith("__"))
    return {"assets": assets, "sensors": sensors, "schedules": schedules, "jobs": jobs}


def _current(lake: Path) -> dict:
    """The snapshot of the code location on the project's default settings (a test lake)."""
    from nba_assets.config import Settings
    from nba_assets.definitions import build_definitions

    return snapshot(build_definitions(settings=Settings(lake_dir=str(lake))))


def test_the_definitions_match_their_reviewed_snapshot(tmp_path) -> None:
    current = _current(tmp_path)
    recorded = json.loads(SNAPSHOT.read_text())
    assert len(current["assets"]) >= 29 and current["sensors"]
    added = sorted(set(current["assets"]) - set(recorded["assets"]))
    removed = sorted(set(recorded["assets"]) - set(current["assets"]))
    assert not added and not removed, f"assets added {added}, removed {removed}: {__doc__}"
    for name, spec in current["assets"].items():
        assert spec == recorded["assets"][name], f"{name} changed: {__doc__}"
    for part in ("sensors", "schedules", "jobs"):
        assert current[part] == recorded[part], f"{part} changed: {__doc__}"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as lake:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(_current(Path(lake)), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}", file=sys.stderr)
