"""Automation over a simulated game day, the morning deadline, and the alerts.

One replay archive is cut from the real data (box scores 2024-11-12..2024-11-15, lines of the same
days); a temporary lake and instance get the three days before the game day by one real backfill.
Then 2024-11-15 is replayed in order, the edge sensors' clock frozen at each step (Dagster's
``freeze_time``) and ``evaluate_automation_conditions`` run at the same simulated time every 30 s
until nothing more is requested: models at 04:00 and the schedule at 05:00 ET, line snapshots at
06:00 and 30 minutes before the first tip-off, a late snapshot after it, the box scores the next
night, the morning recovery check. Every request is executed as a real run before the next
evaluation, as the daemon would launch it.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import os
import tempfile
import threading
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.test_utils import freeze_time

from nba_assets import alerts, automation, sensors
from nba_assets.automation import ET
from nba_assets.clock import Clock
from nba_assets.replay import build_archive

from .conftest import BOX_SCORES, LINES, lake_settings

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

D = date(2024, 11, 15)  # 12 games, lines from PrizePicks/Underdog
HISTORY = (date(2024, 11, 12), date(2024, 11, 14))  # 20 games: rosters of 23 of D's 24 teams
FAKE_KEY = "FAKE-odds-key-7c1e2b-do-not-leak"


def K(path: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(path)


SCHEDULE = K("nba_raw/nbac_schedule")
BOX = K("nba_raw/bdl_player_boxscores")
PROPS = K("nba_raw/odds_api_player_points_props")
SUMMARY = K("nba_analytics/player_game_summary")
FEATURES = K("nba_precompute/ml_feature_store")
PREDICTIONS = K("nba_predictions/player_prop_predictions")
ACCURACY = K("nba_predictions/prediction_accuracy")
EXPORT = K("exports/predictions_json")
MODEL = K("nba_predictions/points_model_lightgbm")
# Season-wide documents (unpartitioned): requested with no partition key.
BACKTEST = K("nba_predictions/backtest_report")
PERFORMANCE_JSON = K("exports/systems_performance_json")
TONIGHT_JSON = K("exports/tonight_json")


def memory_dir(stack: ExitStack) -> Path:
    """A temporary directory in memory when the machine has one: the instance's SQLite commits
    dominate these runs, and a tmpfs makes them cheap (the same code, only a faster disk)."""
    shm = Path("/dev/shm")
    parent = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nba-automation-", dir=parent)))


def et(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ET)


def _cut(path: Path, source: Path, first: date, last: date) -> Path:
    keep = pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))
    pl.read_parquet(source).filter(keep).write_parquet(path)
    return path


class GameDay:
    """The instance, the definitions, the automation cursor and the edge sensors' cursors."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance, lake: Path):
        self.defs = defs
        self.instance = instance
        self.lake = lake
        self.job = defs.resolve_implicit_global_asset_job_def()
        self.cursor = None
        self.edge_cursors: dict[str, str | None] = {}
        graph = defs.resolve_asset_graph()
        self.automated_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
        self.automated = dg.AssetSelection.assets(*self.automated_keys)
        self.history: list[tuple[datetime, dict[dg.AssetKey, set[str]]]] = []

    def execute(self, assets: set[dg.AssetKey], partition: str, tags: dict | None = None) -> None:
        result = self.job.execute_in_process(
            instance=self.instance, partition_key=partition, asset_selection=sorted(assets), tags=tags or {}
        )
        assert result.success

    def tick(self, when: datetime) -> dict[dg.AssetKey, set[str]]:
        """The automation conditions of every phase evaluated at ``when``; what they request runs
        at once, one run per partition (as the daemon launches them), before the next tick."""
        with freeze_time(when):  # the conditions read the definitions' clock: the wall clock, frozen
            result = dg.evaluate_automation_conditions(
                defs=self.defs,
                instance=self.instance,
                asset_selection=self.automated,
                evaluation_time=when,
                cursor=self.cursor,
            )
        self.cursor = result.cursor
        requested: dict[dg.AssetKey, set[str]] = {}
        by_partition: dict[str, set[dg.AssetKey]] = {}
        for key in self.automated_keys:
            parts = set(result.get_requested_partitions(key))
            if parts:
                requested[key] = parts
                for part in parts:
                    by_partition.setdefault(part, set()).add(key)
        for part, keys in sorted(by_partition.items()):
            self.execute(keys, part)
        self.history.append((when, requested))
        return requested

    def step(self, when: datetime, max_ticks: int = 8) -> dict[dg.AssetKey, set[str]]:
        """Ticks every 30 s from ``when`` until one requests nothing (a phase waits for its parents'
        blocking checks to pass, so a chain may take several ticks); within the step no (asset,
        partition) is requested twice. Returns everything the step requested."""
        union: dict[dg.AssetKey, set[str]] = {}
        for i in range(max_ticks):
            requested = self.tick(when + timedelta(seconds=30 * i))
            if not requested:
                return union
            for key, parts in requested.items():
                twice = union.get(key, set()) & parts
                assert not twice, f"{key.to_user_string()} {sorted(twice)} requested twice for the same data"
                union.setdefault(key, set()).update(parts)
        raise AssertionError(f"still requesting after {max_ticks} ticks: {union}")

    def sensor(self, name: str, when: datetime):
        """Evaluates edge sensor ``name`` with its clock frozen at ``when``; runs its requests."""
        sensor_def = self.defs.get_sensor_def(name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.edge_cursors.get(name),
            definitions=self.defs,
            resources={"clock": Clock(), "lake": self.defs.resources["lake"]},  # the wall clock, frozen below
        )
        with freeze_time(when):
            result = sensor_def(context)
        self.edge_cursors[name] = context.cursor
        if isinstance(result, dg.SkipReason):
            return result
        for request in result:
            self.execute(set(request.asset_selection), request.partition_key, dict(request.tags))
        return result


@pytest.fixture(scope="module")
def game_day(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("automation")
    box = _cut(work / "box.parquet", BOX_SCORES, HISTORY[0], D)
    lines = _cut(work / "lines.parquet", LINES, HISTORY[0], D)
    archive = build_archive([box], [lines], work / "replay")
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        fast = memory_dir(stack)
        lake = fast / "lake"
        mp.delenv("NBA_ALERT_WEBHOOK_URL", raising=False)
        from nba_assets.definitions import build_definitions

        defs = build_definitions(settings=lake_settings(lake, replay_dir=str(archive), edge_sensors="on"))
        (fast / "dagster_home").mkdir()
        instance = stack.enter_context(dg.instance_for_test(temp_dir=str(fast / "dagster_home")))
        job = defs.resolve_implicit_global_asset_job_def()
        history = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": HISTORY[0].isoformat(),
                "dagster/asset_partition_range_end": HISTORY[1].isoformat(),
            },
        )
        assert history.success
        yield GameDay(defs, instance, lake)


def check(requested: dict, *, includes: set, excludes: set, days: set[str]) -> None:
    """The tick requested every asset of ``includes``, none of ``excludes``, only partitions in ``days``."""
    shown = {k.to_user_string(): sorted(v) for k, v in requested.items()}
    assert includes <= requested.keys(), (
        f"missing {sorted(k.to_user_string() for k in includes - requested.keys())}: {shown}"
    )
    assert not excludes & requested.keys(), (
        f"unexpected {sorted(k.to_user_string() for k in excludes & requested.keys())}"
    )
    assert set().union(*requested.values()) - {None} <= days, shown


def _predictions(lake: Path) -> pl.DataFrame:
    return pl.read_parquet(lake / "nba_predictions" / "player_prop_predictions" / f"game_date={D}" / "part-0.parquet")


def test_a_simulated_game_day(game_day: GameDay):
    day = D.isoformat()
    next_day = (D + timedelta(days=1)).isoformat()

    # The automation sensors start: nothing is requested on their first evaluation.
    assert game_day.tick(et(D, 3, 50)) == {}

    # 04:00 ET the day's models, 05:00 ET the schedule refetch: only their dependants follow.
    # the schedule sensor fires like a cron schedule: when 05:00 passes between two evaluations
    assert isinstance(game_day.sensor("nba_schedule_daily", et(D, 4, 50)), dg.SkipReason)  # first: records
    assert isinstance(game_day.sensor("nba_schedule_daily", et(D, 4, 55)), dg.SkipReason)
    [request] = game_day.sensor("nba_schedule_daily", et(D, 5))  # runs the request
    assert (request.partition_key, request.run_key) == (day, f"schedule:{day}:morning")
    assert isinstance(game_day.sensor("nba_schedule_daily", et(D, 5, 30)), dg.SkipReason)  # once a day
    early = game_day.step(et(D, 5, 1))
    check(
        early,
        includes={SCHEDULE, MODEL},
        excludes={PROPS, FEATURES, PREDICTIONS, EXPORT, BOX, SUMMARY, ACCURACY},
        days={day},
    )

    info = sensors.game_day(D, automation.read_schedule(game_day.defs.resources["lake"].tables(), [D])[0])
    assert info.played == 12 and info.first_tip is not None
    first_tip = info.first_tip.astimezone(ET)
    assert et(D, 17) <= first_tip <= et(D, 20)

    # No snapshot before the first slot; box scores of the previous days are complete.
    assert isinstance(game_day.sensor("odds_snapshot_sensor", et(D, 5, 30)), dg.SkipReason)
    assert isinstance(game_day.sensor("box_score_sensor", et(D, 5, 30)), dg.SkipReason)

    # 06:00 ET: the first line snapshot; props, features, predictions and the export follow, once.
    [snap] = game_day.sensor("odds_snapshot_sensor", et(D, 6, 1))
    assert snap.run_key == f"props:{day}:0600"
    morning = game_day.step(et(D, 6, 2))
    check(
        morning,
        includes={PROPS, FEATURES, PREDICTIONS, EXPORT},
        excludes={SCHEDULE, MODEL, BOX, SUMMARY, ACCURACY},
        days={day},
    )
    assert isinstance(game_day.sensor("odds_snapshot_sensor", et(D, 6, 30)), dg.SkipReason)  # same slot
    assert _predictions(game_day.lake).height > 0

    # 10:00 ET: the next slot is due (the run itself is left out here to keep the test short).
    plan = sensors.plan_snapshot(et(D, 10, 5).astimezone(UTC), info)
    assert plan is not None and plan.run_key == f"props:{day}:1000"

    # The last slot, 30 minutes before the first tip-off, refreshes the predictions; after the
    # tip-off the sensor is closed.
    [snap] = game_day.sensor("odds_snapshot_sensor", first_tip - timedelta(minutes=29))
    assert snap.run_key == f"props:{day}:{(first_tip - timedelta(minutes=30)).strftime('%H%M')}"
    assert game_day.step(first_tip - timedelta(minutes=28)) == morning  # the same assets again
    pre_tip = _predictions(game_day.lake)
    assert isinstance(game_day.sensor("odds_snapshot_sensor", first_tip + timedelta(minutes=1)), dg.SkipReason)

    # A snapshot landing after the first tip-off (a manual run): props and features are re-parsed,
    # the day's predictions are not refreshed and the stored pre-tip predictions stay as they were.
    game_day.execute({sensors.PROPS_PAYLOADS}, day)
    after_tip = game_day.step(first_tip + timedelta(minutes=5))
    check(after_tip, includes={PROPS, FEATURES}, excludes={PREDICTIONS, EXPORT, ACCURACY}, days={day})
    assert _predictions(game_day.lake).equals(pre_tip)

    # The next night: games over, the box scores land; grading of D follows by itself, once.
    night = et(D + timedelta(days=1), 2, 0)
    games_not_over = info.last_tip.astimezone(ET) + timedelta(hours=2)
    assert isinstance(game_day.sensor("box_score_sensor", games_not_over), dg.SkipReason)
    [box] = game_day.sensor("box_score_sensor", night)
    assert (box.run_key, box.partition_key) == (f"boxscores:{day}:nightly", day)
    graded_night = game_day.step(night + timedelta(minutes=1))
    check(
        graded_night,
        includes={BOX, SUMMARY, ACCURACY, BACKTEST, PERFORMANCE_JSON},
        excludes={PREDICTIONS, SCHEDULE},
        days={day, next_day},
    )
    assert graded_night[ACCURACY] == {day} and graded_night[SUMMARY] == {day}
    assert graded_night[BACKTEST] == graded_night[PERFORMANCE_JSON] == {None}  # one document each, once
    performance = json.loads((game_day.lake / "exports" / "v1" / "systems" / "performance.json").read_text())
    assert performance["as_of"] == day
    graded = pl.read_parquet(game_day.lake / "nba_predictions" / "prediction_accuracy" / f"game_date={day}")
    assert graded.height == pre_tip.height

    # 09:00 ET the next morning: the box scores are complete, no recovery; of D's tables nothing
    # runs again; only the next day's models are due (04:00 ET has passed).
    assert isinstance(game_day.sensor("box_score_sensor", et(D + timedelta(days=1), 9, 5)), dg.SkipReason)
    next_morning = game_day.step(et(D + timedelta(days=1), 9, 6))
    check(next_morning, includes={MODEL}, excludes={PREDICTIONS, ACCURACY, SUMMARY, BOX, PROPS}, days={next_day})

    # Predictions of D ran once per pre-tip snapshot, never after the tip-off; D was graded once.
    predictions_ticks = [when for when, req in game_day.history if day in req.get(PREDICTIONS, ())]
    assert len(predictions_ticks) == 2 and all(when < first_tip for when in predictions_ticks)
    assert len([when for when, req in game_day.history if day in req.get(ACCURACY, ())]) == 1
    assert len([when for when, req in game_day.history if day in req.get(MODEL, ())]) == 1


def test_b_box_score_recovery_plan():
    """The morning recovery asks again only for a day still missing games, once."""
    info = sensors.GameDay(
        D, played=12, final=12, first_tip=et(D, 19).astimezone(UTC), last_tip=et(D, 22, 30).astimezone(UTC)
    )
    nightly = sensors.plan_box_scores(et(D + timedelta(days=1), 1, 45), info, None, set())
    assert nightly is not None and nightly.run_key == f"boxscores:{D}:nightly"
    done = {nightly.run_key}
    assert sensors.plan_box_scores(et(D + timedelta(days=1), 8, 0), info, 10, done) is None  # before 09:00
    recovery = sensors.plan_box_scores(et(D + timedelta(days=1), 9, 0), info, 10, done)
    assert recovery is not None and recovery.run_key == f"boxscores:{D}:recovery"
    assert sensors.plan_box_scores(et(D + timedelta(days=1), 9, 30), info, 10, done | {recovery.run_key}) is None
    assert sensors.plan_box_scores(et(D + timedelta(days=1), 9, 30), info, 12, done) is None  # complete
    not_final = sensors.GameDay(D, 12, 9, info.first_tip, info.last_tip)
    refetch = sensors.plan_box_scores(et(D + timedelta(days=1), 2, 0), not_final, None, set())
    assert refetch is not None and refetch.run_key == f"schedule:{D}:after-games"


def _freshness_result(game_day: GameDay, when: datetime) -> dg.AssetCheckEvaluation:
    check_key = dg.AssetCheckKey(PREDICTIONS, "freshness_check")
    job = dg.define_asset_job("deadline", selection=dg.AssetSelection.checks(check_key))
    defs = dg.Definitions.merge(game_day.defs, dg.Definitions(jobs=[job]))
    with freeze_time(when):
        result = defs.resolve_job_def("deadline").execute_in_process(instance=game_day.instance)
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.asset_key == PREDICTIONS]
    return evaluation


def test_c_morning_deadline(game_day: GameDay):
    """The deadline check passes when the day's predictions exist by 07:00 ET, fails when they do not."""
    passed = _freshness_result(game_day, et(D, 7, 5))
    assert passed.passed and str(D) in passed.description
    before_deadline = _freshness_result(game_day, et(D + timedelta(days=1), 6, 30))  # still checks D
    assert before_deadline.passed
    late = _freshness_result(game_day, et(D + timedelta(days=1), 7, 5))  # D+1 has no predictions
    assert not late.passed and str(D + timedelta(days=1)) in late.description
    assert late.severity == dg.AssetCheckSeverity.ERROR


class _Receiver(http.server.BaseHTTPRequestHandler):
    posts: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append({"path": self.path, "body": json.loads(body)})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    _Receiver.posts = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/services/T0FAKE/B0FAKE/hook-secret-91f3"
    monkeypatch.setenv(alerts.WEBHOOK_ENV, url)
    monkeypatch.setenv("ODDS_API_KEY", FAKE_KEY)
    yield _Receiver.posts
    server.shutdown()
    server.server_close()


def test_d_alerts_post_failures_without_secrets(game_day: GameDay, webhook):
    # A failed check (the deadline of D+1) posted by the check alert sensor.
    late_run = None
    check_key = dg.AssetCheckKey(PREDICTIONS, "freshness_check")
    job = dg.define_asset_job("deadline_alert", selection=dg.AssetSelection.checks(check_key))
    defs = dg.Definitions.merge(game_day.defs, dg.Definitions(jobs=[job]))
    with freeze_time(et(D + timedelta(days=1), 7, 5)):
        late_run = defs.resolve_job_def("deadline_alert").execute_in_process(instance=game_day.instance)
    run = game_day.instance.get_run_by_id(late_run.run_id)
    sensor_def = game_day.defs.get_sensor_def("alert_on_failed_checks")
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_event=late_run.get_run_success_event(),
        dagster_instance=game_day.instance,
        dagster_run=run,
    )
    sensor_def(context)
    assert len(webhook) == 1
    text = json.dumps(webhook[0]["body"])
    assert "freshness_check" in text and str(D + timedelta(days=1)) in text

    # A failed run whose error carries the API key and the webhook URL: the message carries neither.
    @dg.asset
    def leaky():
        raise RuntimeError(f"GET https://api.the-odds-api.com/v4/sports?apiKey={FAKE_KEY} -> 401 (key {FAKE_KEY})")

    failed = dg.materialize([leaky], instance=game_day.instance, raise_on_error=False)
    assert not failed.success
    failure_context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failed.get_run_failure_event(),
        dagster_instance=game_day.instance,
        dagster_run=game_day.instance.get_run_by_id(failed.run_id),
    ).for_run_failure()
    game_day.defs.get_sensor_def("alert_on_run_failure")(failure_context)
    assert len(webhook) == 2
    body = webhook[1]["body"]
    text = json.dumps(body)
    assert failed.run_id in text and "leaky" in text and "401" in text
    assert FAKE_KEY not in text and "hook-secret-91f3" not in text and alerts.REDACTED in text
    assert body["text"].startswith(":rotating_light:") and body["blocks"][1]["type"] == "section"


def test_e_alerts_log_only_without_webhook(monkeypatch, caplog):
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    monkeypatch.setenv("BALLDONTLIE_API_KEY", FAKE_KEY)
    alert = alerts.run_failure_alert(
        job="__ASSET_JOB", run_id="r1", partition=str(D), error=f"Authorization: {FAKE_KEY}", failed_steps=[], url=None
    )
    with caplog.at_level("WARNING", logger="nba_assets.alerts"):
        assert alerts.send(alert) is False
    assert "log only" in caplog.text and FAKE_KEY not in caplog.text


def test_f_conditions_on_the_graph(tmp_path, monkeypatch):
    """Every asset past the edge has its phase's condition, the graph rules hold, one sensor per phase."""
    from nba_assets.assets.common import lake_asset
    from nba_assets.definitions import build_definitions

    defs = build_definitions(settings=lake_settings(tmp_path / "lake"))
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    for key in keys:
        condition = graph.get(key).automation_condition
        assert (condition is None) == (graph.get(key).group_name == "ingest"), key.to_user_string()
    assert graph.get(PREDICTIONS).automation_condition.get_label() == "pre_tip_eager"
    assert graph.get(ACCURACY).automation_condition.get_label() == "daily_eager(3d)"
    assert graph.get(MODEL).automation_condition.get_label() == "models_of_the_day"

    _, same_day = automation._graph_facts(defs)
    assert PROPS in automation.redundant_parents(PREDICTIONS, same_day)  # reaches it through the features
    assert SCHEDULE in automation.redundant_parents(EXPORT, same_day)
    assert automation.redundant_parents(ACCURACY, same_day) == set()  # predictions and actuals both count

    repo = defs.get_repository_def()
    groups = {graph.get(k).group_name for k in keys} - {"ingest"}
    automation_sensors = {s.name: s for s in repo.sensor_defs if s.name.startswith("automation_")}
    assert set(automation_sensors) == {f"automation_{g}" for g in groups}
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in automation_sensors.values())
    assert not repo.schedule_defs  # the 05:00 schedule is a sensor: it reads the clock
    assert {"nba_schedule_daily", "odds_snapshot_sensor", "box_score_sensor"} <= {s.name for s in repo.sensor_defs}

    # One pass: an asset that declares its own condition keeps it as declared; the others get their phase's.
    declared = dg.AutomationCondition.on_cron("0 9 * * *", "America/New_York")

    @lake_asset("nba_raw", "nbac_schedule", group="raw", description="its own", automation_condition=declared)
    def own(): ...

    @lake_asset("nba_raw", "bdl_player_boxscores", group="raw", description="the phase's")
    def phase(): ...

    applied = automation.apply_automation(dg.Definitions(assets=[own, phase]), clock=Clock()).resolve_asset_graph()
    assert applied.get(own.key).automation_condition == declared
    assert applied.get(phase.key).automation_condition.get_label() == "daily_eager(3d)"


def test_f_failed_check_alerts_fire_once_per_run_on_mixed_ticks(webhook):
    """One tick covering a run with a failed check and runs without: one post, the cursor advances,
    and later ticks never resend it (the sensor used to mix a SkipReason with run reactions and fail)."""

    @dg.asset
    def watched() -> None:
        return None

    @dg.asset_check(asset=watched)
    def watched_is_fine(context) -> dg.AssetCheckResult:
        bad = context.run.tags.get("bad") == "yes"
        return dg.AssetCheckResult(passed=not bad, description="bad on purpose" if bad else None)

    (sensor_def,) = [s for s in sensors.build_alert_sensors() if s.name == "alert_on_failed_checks"]
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None):
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            result = sensor_def.evaluate_tick(context)
            assert result.cursor, "the sensor's cursor did not advance"
            return result

        cursor = tick(None).cursor  # the first tick starts the cursor at the latest event
        runs = []
        for bad in ("no", "yes", "no"):
            runs.append(dg.materialize([watched, watched_is_fine], instance=instance, tags={"bad": bad}))
            assert runs[-1].success
        result = tick(cursor)
        assert len(webhook) == 1, webhook
        text = json.dumps(webhook[0]["body"])
        assert "watched_is_fine" in text and runs[1].run_id in text
        assert runs[0].run_id not in text and runs[2].run_id not in text
        assert result.cursor != cursor
        for _ in range(2):
            result = tick(result.cursor)
        assert len(webhook) == 1, "an alert was sent twice"


def test_g_a_replayed_archive_is_not_judged_by_the_wall_clock(tmp_path, monkeypatch):
    """After ``make demo`` (an archive ending 2024-12-15) the UI must not show a deadline missed in
    2026: with a replay archive and the edge off, no wall-clock freshness check or policy is attached;
    against the real services (or a replay with the edge on) the deadline is checked."""
    from nba_assets.definitions import build_definitions

    replay = lake_settings(tmp_path / "lake", replay_dir=str(tmp_path / "replay"))

    def deadlines(defs: dg.Definitions) -> tuple[set, set]:
        checks = {k for k in defs.resolve_asset_graph().asset_check_keys if k.name == "freshness_check"}
        policies = {s.key for s in defs.resolve_all_asset_specs() if s.freshness_policy is not None}
        return checks, policies

    checks, policies = deadlines(build_definitions(settings=replay))
    assert not checks and not policies
    checks, policies = deadlines(build_definitions(settings=dataclasses.replace(replay, edge_sensors="on")))
    assert {c.asset_key for c in checks} == policies == {PREDICTIONS, EXPORT}


def test_h_clock_conditions_look_only_at_their_days_and_decide_the_same(monkeypatch):
    """``InClockWindow`` and ``ClockPassed`` read only the keys of the days they can be true on
    (a tick's candidates are ~1,900 partitions), and decide exactly as when they enumerate every
    candidate: the same true partitions at clock times inside the partitions, at the first
    partition (a window reaching before it) and at the wall clock's last partition."""
    from nba_assets import conditions
    from nba_assets.partitions import FIRST_GAME_DATE, game_date_partitions

    clock = Clock()
    built = {
        "window_3d": conditions.InClockWindow(clock, 3),
        "window_1d": conditions.InClockWindow(clock, 1),
        "passed_0400": conditions.ClockPassed(clock, time(4, 0)),
    }

    def asset(name: str, condition: dg.AutomationCondition) -> dg.AssetsDefinition:
        @dg.asset(name=name, partitions_def=game_date_partitions, automation_condition=condition)
        def _asset() -> None: ...

        return _asset

    assets = [asset(name, condition) for name, condition in built.items()]
    first = date.fromisoformat(FIRST_GAME_DATE)
    today = datetime.now(ET).date()
    times = [et(first, 3), et(first, 5), et(first + timedelta(days=1), 12), et(D, 3, 59), et(D, 4), et(D, 23, 59)]
    times += [et(today, 3), et(today, 12)]
    enumerated = []

    def decide(windowed: bool) -> list[dict[str, set[str]]]:
        real = conditions._partition_days

        def days(candidates, window):  # every candidate's key when not ``windowed``
            used = window if windowed else None
            out = real(candidates, used)
            calls.append((used, len(out)))
            return out

        calls: list[tuple[object, int]] = []
        monkeypatch.setattr(conditions, "_partition_days", days)
        out = []
        with dg.instance_for_test() as instance:
            for when in times:
                with freeze_time(when):
                    result = dg.evaluate_automation_conditions(defs=assets, instance=instance, evaluation_time=when)
                out.append({a.key.to_user_string(): set(result.get_requested_partitions(a.key)) for a in assets})
        monkeypatch.undo()
        enumerated.append(calls)
        return out

    windowed, everything = decide(True), decide(False)
    assert windowed == everything
    # windowed: at most 3 days each time; enumerated: every partition up to the clock's day (~1,900 today)
    assert enumerated[0] and all(w is not None and n <= 3 for w, n in enumerated[0]), enumerated[0]
    assert max(n for _, n in enumerated[1]) > 1000
    at_d = windowed[times.index(et(D, 4))]
    assert at_d == {
        "window_3d": {str(D - timedelta(days=i)) for i in range(3)},
        "window_1d": {str(D)},
        "passed_0400": {str(D)},
    }
    assert windowed[times.index(et(D, 3, 59))]["passed_0400"] == set()
    assert windowed[0]["window_3d"] == {str(first)}  # the window starts before the first partition
