"""Benchmarks of the whole graph, written to bench/results.json (``make bench``).

1. full_backfill: the whole asset graph over 2021-10-19..2024-12-15 in one single-run backfill
   (``dg launch --partition-range``) into a fresh lake and a fresh Dagster instance.
2. one_day: the whole graph for one game day (``dg launch --partition``) on that lake, repeated;
   median and all runs reported.

Every figure is wall-clock seconds of the ``dg launch`` process, on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).parent / "dg"
FIRST, LAST = "2021-10-19", "2024-12-15"
ONE_DAY = "2024-11-15"
TARGETS = {"full_backfill_s": 300.0, "one_day_s": 15.0}


def launch(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(DG), "launch", "--assets", "*", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"dg launch {' '.join(args)} failed (exit {proc.returncode})")
    return round(elapsed, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    replay = os.environ.get("NBA_REPLAY_DIR") or str(REPO / ".replay")
    work = Path(tempfile.mkdtemp(prefix="nba-bench-"))
    try:
        env = {
            **os.environ,
            "NBA_REPLAY_DIR": replay,
            "NBA_LAKE_DIR": str(work / "lake"),
            "DAGSTER_HOME": str(work / "dagster_home"),
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
        }
        subprocess.run(
            [sys.executable, "-m", "nba_assets.instance", env["DAGSTER_HOME"]], check=True, stdout=subprocess.DEVNULL
        )
        print(f"full backfill {FIRST}..{LAST} ...", flush=True)
        full = launch(env, "--partition-range", f"{FIRST}...{LAST}")
        print(f"  {full} s", flush=True)
        one_day = []
        for i in range(args.repeat):
            one_day.append(launch(env, "--partition", ONE_DAY))
            print(f"one day {ONE_DAY} run {i + 1}: {one_day[-1]} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "full_backfill": {
            "range": f"{FIRST}..{LAST}",
            "partitions": 1154,
            "assets": 8,
            "wall_s": full,
            "target_s": TARGETS["full_backfill_s"],
        },
        "one_day": {
            "partition": ONE_DAY,
            "runs_s": one_day,
            "median_s": statistics.median(one_day),
            "target_s": TARGETS["one_day_s"],
        },
        "how": "dg launch --assets '*' (in-process executor), fresh lake and instance; wall clock",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
