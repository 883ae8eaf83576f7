"""A game day you can watch: ``make gameday DATE=2024-12-10 SPEED=120``.

1. Cuts a replay archive from the repo's real data (``data/``, through ``build_archive``) holding
   the ``history`` days before DATE and DATE itself (schedule, line snapshots, box scores).
2. Prepares a lake with the history strictly before DATE: one ``dg launch`` over those days on the
   wall clock (past days: historical snapshots only), its own instance.
3. Writes the replayed clock (``$DAGSTER_HOME/replay_clock.json``) waiting at 23:58 ET the evening
   before DATE (DATE's partition appears at midnight, as in production), starts ``dg dev``
   (webserver + daemon, 127.0.0.1) with ``NBA_CLOCK_FILE`` pointing at it, waits until every
   running sensor has finished a tick, then lets the clock run at SPEED times real time. It stands
   still while a run is in flight, and at each instant something is due and after each run until
   the sensors the replay paces (automation conditions, edge, freshness) have each finished a tick
   begun after it (and at least ``settle_seconds``): a slow daemon slows the day, it never skips
   an instant (see ``nba_assets.clock``).
4. Without any click the daemon plays the day; this command prints the runs as they land and ends
   once DATE is graded (its ``prediction_accuracy`` and the season documents after it), stops
   ``dg dev`` and prints ``gameday: lake=DIR instance=DIR``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import dagster as dg
import polars as pl
from dagster._core.definitions.run_request import InstigatorType

from nba_assets.automation import ET
from nba_assets.clock import EVALUATED, STATE_FILE_NAME, Clock, ReplayState, start_running, write_state
from nba_assets.instance import write_instance

REPO = Path(__file__).resolve().parent.parent
BOX_SCORES = REPO / "data" / "player_box_scores.parquet"
LINES = REPO / "data" / "player_points_lines_dfs.parquet"
ACCURACY = dg.AssetKey(["nba_predictions", "prediction_accuracy"])
PERFORMANCE_JSON = dg.AssetKey(["exports", "systems_performance_json"])
START_ET = clock_time(23, 58)  # the evening before DATE: D's partition appears at midnight
RUN_CONFIG = '{"loggers": {"console": {"config": {"log_level": "WARNING"}}}}'
ACTIVE = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


@dataclass(frozen=True)
class Dirs:
    work: Path

    @property
    def lake(self) -> Path:
        return self.work / "lake"

    @property
    def home(self) -> Path:
        return self.work / "dagster_home"

    @property
    def replay(self) -> Path:
        return self.work / "replay"

    @property
    def clock_file(self) -> Path:
        return self.home / STATE_FILE_NAME


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def child_env(
    home: Path, lake: Path, replay: Path | None, *, drop: tuple[str, ...] = (), **extra: str
) -> dict[str, str]:
    """The environment of a ``dg``/``dagster``/``make`` process on instance ``home``, lake ``lake``
    and replay archive ``replay`` (None: the real services' interface, ``NBA_REPLAY_DIR`` empty),
    with this interpreter's venv first on its PATH: the clock file, the edge switch and the backend
    of the caller's environment (and ``drop``) unless given in ``extra``."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "NBA_LAKE_DIR": str(lake),
        "NBA_REPLAY_DIR": "" if replay is None else str(replay),
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }
    for name in ("NBA_CLOCK_FILE", "NBA_EDGE_SENSORS", "NBA_BACKEND", *drop):
        if name not in extra:
            env.pop(name, None)
    return env


def _env(dirs: Dirs, **extra: str) -> dict[str, str]:
    return child_env(dirs.home, dirs.lake, dirs.replay, **extra)


def _say(message: str) -> None:
    print(f"gameday: {message}", flush=True)


def build_replay(dirs: Dirs, day: date, history: int) -> Path:
    """The archive of the ``history`` days before ``day`` and ``day`` itself, cut from ``data/``."""
    from nba_assets.replay import build_archive

    first = day - timedelta(days=history)
    keep = pl.col("game_date").cast(pl.Utf8).is_between(pl.lit(first.isoformat()), pl.lit(day.isoformat()))
    cut = dirs.work / "cut"
    cut.mkdir(parents=True, exist_ok=True)
    box, lines = pl.read_parquet(BOX_SCORES).filter(keep), pl.read_parquet(LINES).filter(keep)
    if box.filter(pl.col("game_date").cast(pl.Utf8) == day.isoformat()).is_empty():
        raise SystemExit(f"gameday: {day} has no box scores in {BOX_SCORES}")
    box.write_parquet(cut / "box.parquet")
    lines.write_parquet(cut / "lines.parquet")
    return build_archive([cut / "box.parquet"], [cut / "lines.parquet"], dirs.replay)


def prepare_lake(dirs: Dirs, day: date, history: int) -> None:
    """History strictly before ``day``: one ``dg launch`` over the days, on the wall clock."""
    first, last = day - timedelta(days=history), day - timedelta(days=1)
    write_instance(dirs.home)
    command = [_bin("dg"), "launch", "--assets", "*", "--partition-range", f"{first}...{last}"]
    _say(f"history {first}..{last} into {dirs.lake} (one dg launch)")
    subprocess.run([*command, "--config-json", RUN_CONFIG], cwd=REPO, env=_env(dirs), check=True)


def waypoints(day: date, env: dict[str, str]) -> tuple[datetime, ...]:
    """The instants of the day a sensor or a condition has something due, for the clock to hold
    at: the models' 04:00 tick, the 05:00 schedule, the deadline, the snapshot slots and the end of
    the last game (tip-off + 3 h). Tip-offs from the recorded lines (19:00 ET without)."""
    from nba_assets import sensors
    from nba_assets.automation import MODELS_AT_ET, deadline_et
    from nba_assets.config import settings_from_env
    from nba_assets.facts import DEFAULT_TIPOFF_ET

    lines = pl.read_parquet(LINES).filter(pl.col("game_date").cast(pl.Utf8) == day.isoformat())
    default = datetime.combine(day, DEFAULT_TIPOFF_ET, ET).astimezone(UTC)
    tips = sorted({t.astimezone(UTC) for t in lines["commence_utc"].to_list()}) or [default]
    info = sensors.GameDay(day, len(tips), len(tips), tips[0], tips[-1])
    times = env.get("NBA_SNAPSHOT_TIMES_ET")
    leads = env.get("NBA_SNAPSHOT_LEADS_MIN")
    slots = sensors.snapshot_slots(
        info,
        tuple(clock_time.fromisoformat(t) for t in times.split(",")) if times else sensors.SNAPSHOT_TIMES_ET,
        tuple(timedelta(minutes=int(m)) for m in leads.split(",")) if leads else sensors.SNAPSHOT_LEADS,
    )
    deadline = deadline_et(settings_from_env({**os.environ, **env}).predictions_deadline_et)
    at = [
        datetime.combine(day, MODELS_AT_ET, ET),
        datetime.combine(day, sensors.SCHEDULE_AT_ET, ET),
        datetime.combine(day, clock_time(*deadline), ET),
        *slots,
        tips[-1] + sensors.GAME_LENGTH,
    ]
    return tuple(sorted({a.astimezone(UTC) for a in at}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dev(dirs: Dirs, port: int, log: Path, extra_env: dict[str, str]) -> subprocess.Popen:
    env = _env(dirs, NBA_CLOCK_FILE=str(dirs.clock_file), **extra_env)
    out = log.open("w")
    return subprocess.Popen(
        [_bin("dg"), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_dev(proc: subprocess.Popen) -> None:
    """Ctrl-C to dg dev's process group (webserver, daemon, code servers), then kill."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _all_sensors_ticked(instance: dg.DagsterInstance, names: set[str]) -> bool:
    """Each sensor of ``names`` has *finished* a tick that evaluated (``clock.EVALUATED``). A tick
    still running does not count: an automation sensor's first evaluation is its conditions'
    ``initial_evaluation`` (which resets every ``since_last_handled``); if the clock started during
    it and it read 04:00, the models' ``newly_true`` would be spent on it and never fire again."""
    seen = set()
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.name in names and instance.get_ticks(
            state.instigator_origin_id, state.selector_id, limit=1, statuses=list(EVALUATED)
        ):
            seen.add(state.name)
    return seen >= names


def paced_sensors(instance: dg.DagsterInstance, interval: int) -> set[str]:
    """The running sensors whose minimum interval is the replay's ``interval``: the ones the replay
    paces because they decide by the clock (the automation condition sensors, the edge sensors,
    the freshness checks' sensor); the clock waits for their ticks (``ReplayState.tick_sensors``)."""
    return {
        state.name
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if state.is_running and getattr(state.instigator_data, "min_interval", None) == interval
    }


def _wait_until_ticked(instance: dg.DagsterInstance, names: set[str], proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300
    while not _all_sensors_ticked(instance, names):
        if proc.poll() is not None:
            raise RuntimeError(f"dg dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sensors never ticked:\n{log.read_text()[-3000:]}")
        time.sleep(1)


def describe(record) -> str:
    run = record.dagster_run
    tags = run.tags
    what = tags.get("nba/edge_request") or tags.get("dagster/run_key") or ""
    assets = sorted(k.to_user_string() for k in (run.asset_selection or ()))
    shown = ", ".join(a.split("/")[-1] for a in assets[:6]) + (f" +{len(assets) - 6}" if len(assets) > 6 else "")
    partition = tags.get("dagster/partition", "-")
    return f"{run.status.value:<8} {partition:<10} {what or 'automation'}: {shown}"


def graded(instance: dg.DagsterInstance, day: date) -> bool:
    """``day``'s grading is stored and the season documents were rebuilt after it, nothing running."""
    accuracy = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ACCURACY, asset_partitions=[day.isoformat()]), limit=1
    ).records
    if not accuracy:
        return False
    after = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PERFORMANCE_JSON, after_storage_id=accuracy[0].storage_id), limit=1
    ).records
    active = instance.get_run_records(filters=dg.RunsFilter(statuses=list(ACTIVE)), limit=1)
    return bool(after) and not active


def play(
    day: date,
    speed: float,
    work: Path,
    *,
    history: int = 7,
    settle_seconds: float = 10.0,
    sensor_interval: int = 1,
    timeout: float = 3600,
    extra_env: dict[str, str] | None = None,
) -> Dirs:
    """The whole game day through ``dg dev``'s daemon; returns the directories it used."""
    dirs = Dirs(work.resolve())
    dirs.work.mkdir(parents=True, exist_ok=True)
    build_replay(dirs, day, history)
    prepare_lake(dirs, day, history)
    start = datetime.combine(day - timedelta(days=1), START_ET, ET)
    state = ReplayState(
        start,
        speed,
        settle_seconds=settle_seconds,
        sensor_interval_seconds=sensor_interval,
        waypoints=waypoints(day, extra_env or {}),
        hold_seconds=settle_seconds,
    )
    write_state(dirs.clock_file, state)
    port = _free_port()
    log = dirs.work / "dg_dev.log"
    _say(f"dg dev on http://127.0.0.1:{port} (log {log}); the clock waits at {start:%Y-%m-%d %H:%M} ET")
    proc = start_dev(dirs, port, log, extra_env or {})
    os.environ["DAGSTER_HOME"] = str(dirs.home)
    clock = Clock(state_file=str(dirs.clock_file))
    try:
        with dg.DagsterInstance.from_config(str(dirs.home)) as instance:
            one = (extra_env or {}).get("NBA_AUTOMATION_SENSORS") == "one"
            automation = {"automation_all"} if one else {"automation_raw", "automation_predictions"}
            names = {"nba_schedule_daily", "odds_snapshot_sensor", "box_score_sensor", *automation}
            _wait_until_ticked(instance, names, proc, log)
            # every sensor the replay paces has a state once the daemon's first loop ran: wait for
            # each one's first tick too, then the clock waits for their ticks at every pause
            paced = names | paced_sensors(instance, sensor_interval)
            _wait_until_ticked(instance, paced, proc, log)
            write_state(dirs.clock_file, replace(state, tick_sensors=tuple(sorted(paced))))
            start_running(dirs.clock_file)
            _say(
                f"the clock runs from {start:%H:%M} ET at {speed:g}x (still while a run is in flight; "
                f"at each instant something is due and after each run at least {settle_seconds:g} s and "
                f"until {', '.join(sorted(paced))} each finished a tick begun after it)"
            )
            shown: dict[str, str] = {}
            last_hour = None
            deadline = time.monotonic() + timeout
            while not graded(instance, day):
                if proc.poll() is not None:
                    raise RuntimeError(f"dg dev exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{day} not graded after {timeout:.0f} s")
                now = clock.now(instance).astimezone(ET)
                if now.strftime("%d %H") != last_hour:
                    last_hour = now.strftime("%d %H")
                    _say(f"clock {now:%Y-%m-%d %H:%M} ET")
                for record in reversed(instance.get_run_records(limit=50)):
                    line = describe(record)
                    if shown.get(record.dagster_run.run_id) != line:
                        shown[record.dagster_run.run_id] = line
                        _say(f"  [{now:%m-%d %H:%M} ET] {line}")
                time.sleep(2)
            _say(f"{day} graded at {clock.now(instance).astimezone(ET):%Y-%m-%d %H:%M} ET, {len(shown)} runs")
    finally:
        stop_dev(proc)
    return dirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nba_assets.gameday", description=__doc__.splitlines()[0])
    parser.add_argument("--date", required=True, type=date.fromisoformat)
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--history", type=int, default=7, help="days of history before DATE in the lake")
    parser.add_argument("--work", type=Path, default=None, help="directory for lake, instance, archive")
    args = parser.parse_args(argv)
    work = args.work or REPO / ".gameday" / args.date.isoformat()
    if work.exists():
        import shutil

        shutil.rmtree(work)
    dirs = play(args.date, args.speed, work, history=args.history)
    print(f"gameday: lake={dirs.lake} instance={dirs.home}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["UTC", "Dirs", "play"]
