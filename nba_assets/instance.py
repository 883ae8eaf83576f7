"""Writes the Dagster instance configuration (``$DAGSTER_HOME/dagster.yaml``).

One concurrency pool per API, so a backfill never runs two steps against the same API at once.
The daemon (``dg dev`` / ``dagster-daemon run``) evaluates the automation condition sensors (one per
phase, in parallel threads), the edge sensors and schedules, the freshness checks' sensor and the
alert sensors; run monitoring marks runs whose worker died as failed (the failure alert fires).
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
# Declarative automation through AutomationConditionSensorDefinitions (nba_assets/sensors.py),
# evaluated in threads so one phase's slow evaluation does not hold back the others.
auto_materialize:
  enabled: true
  use_sensors: true
  use_threads: true
  num_workers: 4
sensors:
  use_threads: true
  num_workers: 4
schedules:
  use_threads: true
  num_workers: 2
# FreshnessPolicy states for the UI (player_prop_predictions, exports/predictions_json).
freshness:
  enabled: true
run_monitoring:
  enabled: true
  poll_interval_seconds: 60
"""


def write_instance(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    path.write_text(DAGSTER_YAML)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".dagster_home").resolve()
    print(f"dagster instance: {write_instance(target)}")
