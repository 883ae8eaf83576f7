"""Where a run's seconds go, from its event log (the latest run of an instance, or --run-id).

    DAGSTER_HOME=.dagster_home .venv/bin/python bench/step_breakdown.py [--run-id ID] [--json]

For every step, from the timestamps of its own events: ``inputs`` (STEP_START to the last
LOADED_INPUT: the window reads), ``compute`` (to the first STEP_OUTPUT), ``output`` (to the last
HANDLED_OUTPUT: the lake writes), ``events`` (to STEP_SUCCESS: the materialization events and
checks' results written after the output), and the step's total. Then the same by asset group,
and the run's span (RUN_START to RUN_SUCCESS) beside the sum of the steps (the difference is
Dagster's own work between steps: planning, the executor, resource setup).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict


def breakdown(instance, run_id: str | None = None) -> dict:
    from dagster import DagsterEventType

    from nba_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    group_of = {"__".join(key.path): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    run = instance.get_run_by_id(run_id) if run_id else instance.get_runs(limit=1)[0]
    steps: dict[str, dict[str, float]] = defaultdict(dict)
    run_start = run_end = None
    for entry in instance.all_logs(run.run_id):
        if not entry.is_dagster_event:
            continue
        kind, t, step = entry.dagster_event_type, entry.timestamp, entry.step_key
        if kind == DagsterEventType.RUN_START:
            run_start = t
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            run_end = t
        if step is None:
            continue
        s = steps[step]
        if kind == DagsterEventType.STEP_START:
            s["start"] = t
        elif kind == DagsterEventType.LOADED_INPUT:
            s["inputs_done"] = t
        elif kind == DagsterEventType.STEP_OUTPUT:
            s.setdefault("first_output", t)
        elif kind == DagsterEventType.HANDLED_OUTPUT:
            s["handled"] = t
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            s["end"] = t
    rows = {}
    for step, s in steps.items():
        if "start" not in s or "end" not in s:
            continue
        start = s["start"]
        inputs = s.get("inputs_done", start)
        output_at = s.get("first_output", inputs)
        handled = s.get("handled", output_at)
        rows[step] = {
            "group": group_of.get(step, "other"),
            "inputs_s": round(inputs - start, 3),
            "compute_s": round(output_at - inputs, 3),
            "output_s": round(handled - output_at, 3),
            "events_s": round(s["end"] - handled, 3),
            "total_s": round(s["end"] - start, 3),
        }
    parts = ("inputs_s", "compute_s", "output_s", "events_s", "total_s")
    by_group: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows.values():
        for k in parts:
            by_group[r["group"]][k] = round(by_group[r["group"]][k] + r[k], 3)
    total = {k: round(sum(r[k] for r in rows.values()), 3) for k in parts}
    return {
        "run_id": run.run_id,
        "run_span_s": round(run_end - run_start, 3) if run_start and run_end else None,
        "steps_total": total,
        "by_group": {g: dict(v) for g, v in sorted(by_group.items())},
        "steps": dict(sorted(rows.items(), key=lambda kv: -kv[1]["total_s"])),
    }


def main() -> None:
    import dagster as dg

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with dg.DagsterInstance.get() as instance:
        out = breakdown(instance, args.run_id)
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"run {out['run_id']}: span {out['run_span_s']} s; steps {out['steps_total']}")
    for group, v in out["by_group"].items():
        print(f"  {group:12s} " + " ".join(f"{k}={v[k]:8.2f}" for k in v))
    for step, r in out["steps"].items():
        print(
            f"  {step:55s} {r['total_s']:8.2f}  in {r['inputs_s']:6.2f} compute {r['compute_s']:7.2f} "
            f"out {r['output_s']:6.2f} events {r['events_s']:6.2f}"
        )


if __name__ == "__main__":
    main()
