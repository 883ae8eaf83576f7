"""Writes the Dagster instance configuration (``$DAGSTER_HOME/dagster.yaml``).

One concurrency pool per API, so a backfill never runs two steps against the same API at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

POOLS = ("nba_cdn", "balldontlie", "odds_api")

DAGSTER_YAML = """\
# Written by `make setup` / `make instance` (nba_assets/instance.py). Local, embedded instance.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
    granularity: op
  runs:
    max_concurrent_runs: 2
"""


def write_instance(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    path.write_text(DAGSTER_YAML)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".dagster_home").resolve()
    print(f"dagster instance: {write_instance(target)}")
