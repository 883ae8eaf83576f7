"""`dg dev` end to end: webserver and daemon on 127.0.0.1, a run submitted through GraphQL completes.

The test starts `dg dev` on a free port with a temporary DAGSTER_HOME (written by
``nba_assets.instance``), a temporary lake and a replay archive cut from the real data for one
date (2024-11-15), submits the ingest and raw assets of that date through
``DagsterGraphQLClient`` (the daemon's queued run coordinator launches it), waits for SUCCESS,
reads the tables the run wrote, checks which sensors the instance runs by default, and stops the
whole process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from nba_assets.gameday import child_env
from nba_assets.instance import write_instance
from nba_assets.replay import build_archive

from .conftest import BOX_SCORES, LINES

REPO = Path(__file__).resolve().parent.parent
DG = Path(sys.executable).parent / "dg"
DAY = "2024-11-15"
SELECTION = [
    "landing/nba_schedule_payloads",
    "nba_raw/nbac_schedule",
    "landing/bdl_stats_payloads",
    "nba_raw/bdl_player_boxscores",
    "landing/odds_player_points_payloads",
    "nba_raw/odds_api_player_points_props",
]
SENSORS_QUERY = """
query {
  workspaceOrError { ... on Workspace { locationEntries { name } } }
}
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"),
    pytest.mark.skipif(not DG.exists(), reason=f"dg is not installed next to {sys.executable}"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; dg dev log:\n{log.read_text()[-4000:]}")


def _submit(client, location: str) -> str:
    """The client's own launch mutation for the asset job, one partition, an asset selection.
    (``submit_job_execution`` of this client version reports an error for asset selections.)"""
    import dagster as dg
    from dagster_graphql.client.client_queries import CLIENT_SUBMIT_PIPELINE_RUN_MUTATION

    params = {
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [dg.AssetKey.from_user_string(k).to_graphql_input() for k in SELECTION],
        },
        "runConfigData": {},
        "mode": "default",
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]},
    }
    result = client._execute(CLIENT_SUBMIT_PIPELINE_RUN_MUTATION, {"executionParams": params})[
        "launchPipelineExecution"
    ]
    assert result["__typename"] in {"LaunchRunSuccess", "LaunchPipelineRunSuccess"}, result
    return result["run"]["runId"]


def _stop(proc: subprocess.Popen) -> None:
    """Ctrl-C to dg dev's process group (it stops webserver, daemon and code servers), then kill."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def test_dg_dev_runs_a_real_date(tmp_path: Path):
    from dagster_graphql import DagsterGraphQLClient

    keep = pl.col("game_date") == DAY
    pl.read_parquet(BOX_SCORES).filter(keep).write_parquet(tmp_path / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(tmp_path / "lines.parquet")
    archive = build_archive([tmp_path / "box.parquet"], [tmp_path / "lines.parquet"], tmp_path / "replay")
    home, lake = tmp_path / "dagster_home", tmp_path / "lake"
    write_instance(home)
    port = _free_port()
    env = child_env(home, lake, archive, drop=("NBA_ALERT_WEBHOOK_URL",))
    log = tmp_path / "dg_dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(DG), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=30)

        def location_loaded():
            if proc.poll() is not None:
                raise AssertionError(f"dg dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                entries = client._execute(SENSORS_QUERY)["workspaceOrError"]["locationEntries"]
            except Exception:
                return None
            return entries[0]["name"] if entries else None

        location = _wait(location_loaded, 120, "the webserver and the code location", log)
        run_id = _submit(client, location)

        def finished():
            status = client.get_run_status(run_id)
            return status if status.value in {"SUCCESS", "FAILURE", "CANCELED"} else None

        status = _wait(finished, 180, f"run {run_id}", log)
        assert status.value == "SUCCESS", log.read_text()[-4000:]

        schedule = pl.read_parquet(lake / "nba_raw" / "nbac_schedule" / f"game_date={DAY}")
        box = pl.read_parquet(lake / "nba_raw" / "bdl_player_boxscores" / f"game_date={DAY}")
        props = pl.read_parquet(lake / "nba_raw" / "odds_api_player_points_props" / f"game_date={DAY}")
        assert schedule.height == 12
        assert box["game_id"].n_unique() == 12
        assert props.height > 0

        states = client._execute(
            """query($loc: String!) { sensorsOrError(repositorySelector:
                 {repositoryName: "__repository__", repositoryLocationName: $loc}) {
                 ... on Sensors { results { name sensorState { status } } } } }""",
            {"loc": location},
        )["sensorsOrError"]["results"]
        status_of = {s["name"]: s["sensorState"]["status"] for s in states}
        automation = {n for n in status_of if n.startswith("automation_")}
        assert {"automation_raw", "automation_predictions", "automation_grading"} <= automation
        assert all(status_of[n] == "RUNNING" for n in automation)
        assert status_of["alert_on_run_failure"] == status_of["alert_on_failed_checks"] == "RUNNING"
        # replaying a recorded archive on the wall clock: the edge (which would ask it for today) stays
        # off, and no deadline is attached (nor its sensor)
        edge = ("nba_schedule_daily", "odds_snapshot_sensor", "box_score_sensor")
        assert {status_of[n] for n in edge} == {"STOPPED"}
        assert "freshness_checks_sensor" not in status_of
    finally:
        _stop(proc)
    assert proc.poll() is not None
