"""The live export (issue 15): a recorded game day replayed through its tip-offs and ends.

D = 2024-12-10 (two games: ORL@MIL tips 19:00 ET, DAL@OKC 21:30 ET). The lake holds the real
upstream tables cut from data/ (box scores of the year before, the PrizePicks / Underdog lines,
the feature store of 2024-10-22..D through the project's own transforms, the schedule with its
recorded tip-offs), then D's models, predictions and grading run by Dagster. The replay archive is
built from data/ (D's box scores, lines and data/schedule.csv) and served on 127.0.0.1 by the
``NbaApis`` resource, gated by a replayed clock (``nba_assets.clock``) set at each instant of the
day. At each instant: ``live_games_sensor`` is evaluated (``build_sensor_context`` with that
clock), its request runs ``landing/live_payloads`` (real HTTP to the replay server), the automation
condition of ``exports/live_json`` is evaluated and its request runs; the two documents are read
back and checked against the schemas, the archive and ``prediction_accuracy``. The Live page is
then driven in headless Chromium (desktop and phone) over the mid-evening and the final exports.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import jsonschema
import polars as pl
import pytest

from nba_assets.automation import ET
from nba_assets.clock import Clock, ReplayState, write_state

from . import graph
from .conftest import BOX_SCORES, DATA, LINES, REPO, lake_settings, raw_box_from_box_scores, schedule_from_box_scores

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

D = date(2024, 12, 10)
FEATURES_FROM = date(2024, 10, 22)  # the first lines of 2024-25: the feature store starts there
PAYLOADS = dg.AssetKey(["landing", "live_payloads"])
LIVE_JSON = dg.AssetKey(["exports", "live_json"])
GRADE_TO_STATUS = {"correct": "hit", "incorrect": "missed", "push": "push", "void": "void"}


def et(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), ET).astimezone(UTC)


def _cut(path: Path, source: Path, first: date, last: date) -> Path:
    keep = pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))
    pl.read_parquet(source).filter(keep).write_parquet(path)
    return path


class LiveDay:
    """The lake, the instance, the definitions on a replayed clock, and the automation cursor."""

    def __init__(self, work: Path, lake: Path, archive: Path, instance: dg.DagsterInstance, defs, clock: Clock):
        self.work, self.lake, self.archive = work, lake, archive
        self.instance, self.defs, self.clock = instance, defs, clock
        self.job = defs.resolve_implicit_global_asset_job_def()
        self.cursor = None

    @property
    def exports(self) -> Path:
        return self.lake / "exports" / "v1"

    def at(self, moment: datetime) -> None:
        """Sets the replayed clock at ``moment`` (waiting there: it does not run on)."""
        write_state(Path(self.clock.state_file), ReplayState(start=moment, speed=1.0))

    def execute(self, assets: list[dg.AssetKey], partition: str, tags: dict | None = None) -> None:
        result = self.job.execute_in_process(
            instance=self.instance, partition_key=partition, asset_selection=assets, tags=tags or {}
        )
        assert result.success

    def sensor(self):
        sensor_def = self.defs.get_sensor_def("live_games_sensor")
        context = dg.build_sensor_context(
            instance=self.instance,
            definitions=self.defs,
            resources={"clock": self.clock, "lake": self.defs.resources["lake"]},
        )
        return sensor_def(context)

    def automation(self) -> set[str]:
        """``exports/live_json``'s condition evaluated now (by the clock); its request runs."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            asset_selection=dg.AssetSelection.assets(LIVE_JSON),
            evaluation_time=self.clock.now(),
            cursor=self.cursor,
        )
        self.cursor = result.cursor
        requested = set(result.get_requested_partitions(LIVE_JSON))
        for partition in sorted(requested):
            self.execute([LIVE_JSON], partition)
        return requested

    def snapshot(self, moment: datetime) -> tuple[list, dict, dict]:
        """At ``moment``: the sensor's requests run, then the export's condition; the two documents."""
        self.at(moment)
        requests = self.sensor()
        if not isinstance(requests, dg.SkipReason):
            for request in requests:
                self.execute(list(request.asset_selection), request.partition_key, dict(request.tags))
            assert self.automation() == {D.isoformat()}
            # the daemon's next tick (30 s later) sees that run and requests nothing more
            assert self.automation() == set()
        return requests, self.doc("live"), self.doc("live-grading")

    def doc(self, kind: str) -> dict:
        return json.loads((self.exports / kind / f"{D.isoformat()}.json").read_text())


@pytest.fixture(scope="module")
def live_day(tmp_path_factory: pytest.TempPathFactory):
    from nba_assets.definitions import build_definitions
    from nba_assets.partitions import dates_between
    from nba_assets.real_data import props_from_lines
    from nba_assets.replay.build import build_archive

    work = tmp_path_factory.mktemp("live")
    archive = build_archive(
        [_cut(work / "box.parquet", BOX_SCORES, D, D)],
        [_cut(work / "lines.parquet", LINES, D, D)],
        work / "replay",
        schedule=DATA / "schedule.csv",
    )
    days = dates_between(FEATURES_FROM - timedelta(days=366), D)
    box = pl.read_parquet(BOX_SCORES).with_columns(pl.col("game_date").str.to_date())
    box = box.filter(pl.col("game_date").is_between(days[0], days[-1]))
    lines = pl.read_parquet(LINES).with_columns(pl.col("game_date").str.to_date())
    props = props_from_lines(lines.filter(pl.col("game_date") <= D))
    raw = raw_box_from_box_scores(box)
    tips = pl.read_csv(
        DATA / "schedule.csv", columns=["game_id", "tipoff_utc"], schema_overrides={"game_id": pl.String}
    )
    tips = tips.with_columns(pl.col("tipoff_utc").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC"))
    schedule = (
        schedule_from_box_scores(box)
        .drop("tipoff_utc")
        .join(tips, on="game_id", how="left")
        .select(schedule_from_box_scores(box.head(0)).columns)
    )
    lake = work / "lake"
    # The feature store of FEATURES_FROM..D as the phase-3/4 assets store it, on a lake whose
    # summaries start a year before.
    graph.write_raw(lake, (raw, schedule, props), days)
    graph.run(lake, days[0], FEATURES_FROM - timedelta(days=1), graph.PHASE3)
    graph.run(lake, FEATURES_FROM, D)
    clock = Clock(state_file=str(work / "replay_clock.json"))
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.delenv("NBA_ALERT_WEBHOOK_URL", raising=False)
        write_state(Path(clock.state_file), ReplayState(start=et(D, 4), speed=1.0))
        defs = build_definitions(clock=clock, settings=lake_settings(lake, replay_dir=str(archive)))
        day = LiveDay(work, lake, archive, instance, defs, clock)
        asset_graph = defs.resolve_asset_graph()
        keys = dg.AssetSelection.groups("models", "predictions").resolve(asset_graph) | {
            dg.AssetKey(["nba_predictions", "prediction_accuracy"])
        }
        day.execute(sorted(keys), D.isoformat())
        # The seeded tables are in the lake: the instance is told so (the conditions look at it).
        for dataset, table in (("nba_raw", "nbac_schedule"), ("nba_analytics", "player_game_summary")):
            instance.report_runless_asset_event(dg.AssetMaterialization([dataset, table], partition=D.isoformat()))
        yield day


def _read(lake: Path, dataset: str, table: str) -> pl.DataFrame:
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.schemas import schema_for

    return LocalParquetStore(lake).read_window(TableRef(dataset, table), [D], schema_for(dataset, table))


def _validate(day: LiveDay, live: dict, grading: dict) -> None:
    for kind, document in (("live", live), ("live-grading", grading)):
        schema = json.loads((REPO / "docs" / "schemas" / f"{kind}.schema.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(document)


def _archive_games(archive: Path) -> dict[str, dict]:
    games = json.loads((archive / "balldontlie/v1/games" / f"{D.isoformat()}.json").read_text())["data"]
    return {g["home_team"]["abbreviation"]: g for g in games}


def play_the_day(live_day: LiveDay, tmp_path_factory) -> dict[str, Path]:
    """The day played instant by instant, every step checked; returns the exports of mid-evening
    (a copy) and after the games."""
    snapshots: dict[str, Path] = {}
    predictions = _read(live_day.lake, "nba_predictions", "player_prop_predictions")
    accuracy = _read(live_day.lake, "nba_predictions", "prediction_accuracy")
    calls = predictions.filter(pl.col("recommendation").is_in(["OVER", "UNDER"]))
    lined = predictions.filter(pl.col("points_line").is_not_null())["player_id"].n_unique()
    assert calls.height > 0 and lined > 0
    schedule = _read(live_day.lake, "nba_raw", "nbac_schedule").sort("tipoff_utc")
    assert schedule.height == 2 and schedule["tipoff_utc"].null_count() == 0
    first, second = schedule.row(0, named=True), schedule.row(1, named=True)
    archived = _archive_games(live_day.archive)

    # Before the first tip-off: the sensor waits; an export taken by hand says scheduled, pending.
    early = et(D, 18, 30)
    live_day.at(early)
    skipped = live_day.sensor()
    assert isinstance(skipped, dg.SkipReason) and "no game day is on" in skipped.skip_message
    live_day.execute([PAYLOADS, LIVE_JSON], D.isoformat())
    assert live_day.automation() == set()  # the condition's first evaluation only records state
    live, grading = live_day.doc("live"), live_day.doc("live-grading")
    _validate(live_day, live, grading)
    assert [g["status"] for g in live["games"]] == ["scheduled", "scheduled"]
    assert all(g[k] is None for g in live["games"] for k in ("home_score", "away_score", "period", "clock"))
    assert [g["status_text"] for g in live["games"]] == ["7:00 pm ET", "9:30 pm ET"]
    assert sum(len(g["players"]) for g in live["games"]) == lined
    assert all(p["points"] is None and p["played"] is None for g in live["games"] for p in g["players"])
    assert len(grading["calls"]) == calls.height and grading["counts"]["pending"] == calls.height
    assert grading["calls_without_a_scoreboard_game"] == []

    # Just after the first tip-off: the sensor's 19:00 slot (every 3 min from the tip-off);
    # game one in progress with no numbers.
    requests, live, grading = live_day.snapshot(et(D, 19, 2))
    assert [r.run_key for r in requests] == [f"live:{D.isoformat()}:1900"]
    assert [r.partition_key for r in requests] == [D.isoformat()]
    assert list(requests[0].asset_selection) == [PAYLOADS]
    _validate(live_day, live, grading)
    one, two = live["games"]
    assert (one["game_id"], one["status"], two["status"]) == (first["game_id"], "in_progress", "scheduled")
    assert one["status_text"] == "In Progress"
    assert all(one[k] is None for k in ("home_score", "away_score", "period", "clock"))  # nothing invented
    assert all(p["points"] is None for p in one["players"])
    assert grading["counts"]["pending"] == calls.height
    # the same slot asked again is the same run key: Dagster never launches it twice
    live_day.at(et(D, 19, 2, 50))
    assert [r.run_key for r in live_day.sensor()] == [f"live:{D.isoformat()}:1900"]
    live_day.at(et(D, 19, 4))  # the next slot
    assert [r.run_key for r in live_day.sensor()] == [f"live:{D.isoformat()}:1903"]

    # Mid-evening (22:10 ET): game one over (tip-off + 3 h) with its real box score, game two on.
    requests, live, grading = live_day.snapshot(et(D, 22, 10))
    assert [r.run_key for r in requests] == [f"live:{D.isoformat()}:2209"]
    _validate(live_day, live, grading)
    one, two = live["games"]
    real = archived[first["home_team"]]
    assert (one["status"], one["home_score"], one["away_score"]) == (
        "final", real["home_team_score"], real["visitor_team_score"]
    )  # fmt: skip
    assert one["period"] == real["period"]
    assert two["status"] == "in_progress" and two["home_score"] is None
    by_game = {c["game_id"]: [] for c in grading["calls"]}
    for c in grading["calls"]:
        by_game[c["game_id"]].append(c["status"])
    assert set(by_game[second["game_id"]]) == {"pending"}
    assert set(by_game[first["game_id"]]) <= {"hit", "missed", "push", "void"}
    mid = tmp_path_factory.mktemp("live_mid") / "v1"
    shutil.copytree(live_day.exports, mid)
    snapshots["mid"] = mid  # the Live page's test shows this evening

    # After the last game (00:45 ET the next day): both final, every call graded as the grading does.
    requests, live, grading = live_day.snapshot(et(D + timedelta(days=1), 0, 45))
    assert [r.run_key for r in requests] == [f"live:{D.isoformat()}:0045"]
    _validate(live_day, live, grading)
    assert [g["status"] for g in live["games"]] == ["final", "final"]
    assert live["box_score_games_not_on_the_scoreboard"] == []
    assert live["games_by_status"] == {"scheduled": 0, "in_progress": 0, "final": 2}
    for game in live["games"]:
        real = archived[game["home_team"]]
        assert (game["home_score"], game["away_score"]) == (real["home_team_score"], real["visitor_team_score"])
    box = pl.read_parquet(BOX_SCORES).filter(pl.col("game_date") == D.isoformat())
    points = dict(zip(box["player_id"].to_list(), box["pts"].to_list(), strict=True))
    for game in live["games"]:
        for p in game["players"]:
            assert p["points"] == points.get(p["player_id"]), p["name"]
            assert p["played"] == (p["player_id"] in points)
    graded = accuracy.filter(pl.col("recommendation").is_in(["OVER", "UNDER"]))
    expected = {(r["system_id"], r["player_id"]): GRADE_TO_STATUS[r["grade"]] for r in graded.iter_rows(named=True)}
    got = {(c["system_id"], c["player_id"]): c["status"] for c in grading["calls"]}
    assert got == expected and len(got) == calls.height
    assert grading["counts"]["pending"] == 0 and grading["counts"]["on_track"] == 0
    assert grading["counts"]["hit"] + grading["counts"]["missed"] > 0
    for c in grading["calls"]:
        assert c["points"] == points.get(c["player_id"])
    snapshots["final"] = live_day.exports

    # The window closes at 02:00 ET: nothing more is requested.
    live_day.at(et(D + timedelta(days=1), 2, 5))
    assert isinstance(live_day.sensor(), dg.SkipReason)
    # Landed like every other source: one fetch record per snapshot, each naming its two bodies.
    records = sorted((live_day.lake / "landing" / "_fetches" / "live" / D.isoformat()).glob("*.json"))
    assert len(records) == 4
    kinds = [sorted(f["kind"] for f in json.loads(r.read_text())["files"]) for r in records]
    assert kinds == [["box_scores", "scoreboard"]] * 4
    return snapshots


@pytest.fixture(scope="module")
def played(live_day: LiveDay, tmp_path_factory) -> dict[str, Path]:
    return play_the_day(live_day, tmp_path_factory)


def test_a_game_day_replayed_through_its_tip_offs_and_ends(played: dict[str, Path]) -> None:
    """Before the first tip-off, the first tip-off, mid-evening, after the games, the window's end
    (every step asserted in ``play_the_day``)."""
    assert set(played) == {"mid", "final"}


def test_the_live_sensor_is_off_on_a_replayed_clock_and_follows_the_edge_otherwise(live_day) -> None:
    from nba_assets.config import settings_from_env
    from nba_assets.live_sensor import live_default_status

    running, stopped = dg.DefaultSensorStatus.RUNNING, dg.DefaultSensorStatus.STOPPED
    assert live_day.defs.get_sensor_def("live_games_sensor").default_status == stopped  # replayed clock
    assert live_default_status(running, replayed_clock=False) == running
    assert live_default_status(stopped, replayed_clock=False) == stopped
    assert live_default_status(running, replayed_clock=True) == stopped
    setting = settings_from_env({"NBA_LIVE_SENSOR": "on"}).live_sensor  # the definitions pass the settings'
    assert live_default_status(stopped, replayed_clock=True, live_sensor=setting) == running
    assert live_default_status(running, False, settings_from_env({"NBA_LIVE_SENSOR": "off"}).live_sensor) == stopped


def test_a_bad_scoreboard_names_file_field_and_date(live_day: LiveDay, played: dict[str, Path]) -> None:
    """A renamed field fails the parse with the landing file, the field and the date."""
    from nba_assets.sources.payloads import PayloadError
    from nba_assets.transforms.live import parse_box_scores, parse_scoreboard

    record = sorted((live_day.lake / "landing" / "_fetches" / "live" / D.isoformat()).glob("*.json"))[-1]
    files = {f["kind"]: f["path"] for f in json.loads(record.read_text())["files"]}
    from nba_assets.sources.landing import LandedFile

    landing = live_day.lake / "landing"
    board = LandedFile(files["scoreboard"], "scoreboard").body(landing)
    header = board["resultSets"][0]["headers"]
    header[header.index("GAME_STATUS_ID")] = "GAME_STATUS"
    with pytest.raises(PayloadError) as bad:
        parse_scoreboard(board, file=f"landing/{files['scoreboard']}", day=D)
    assert files["scoreboard"] in str(bad.value) and "GAME_STATUS_ID" in str(bad.value) and str(D) in str(bad.value)
    box = LandedFile(files["box_scores"], "box_scores").body(landing)
    box["data"][1]["home_team"]["players"][2]["pts"] = "12"
    with pytest.raises(PayloadError) as bad:
        parse_box_scores(box, file=f"landing/{files['box_scores']}", day=D)
    assert bad.value.field == "data[1].home_team.players[2].pts" and bad.value.game_date == D.isoformat()

    # Landed and run by Dagster: the day is held back, its export stays as it was, the run goes on.
    import gzip

    from nba_assets.sources.landing import write_fetch

    bad_file = landing / "nba_stats" / D.isoformat() / "99999999T000000000000Z-renamed.json.gz"
    bad_file.write_bytes(gzip.compress(json.dumps(board).encode()))
    write_fetch(landing, "live", D, [(bad_file, "scoreboard"), (landing / files["box_scores"], "box_scores")])
    before = {k: (live_day.exports / k / f"{D.isoformat()}.json").read_bytes() for k in ("live", "live-grading")}
    result = live_day.job.execute_in_process(
        instance=live_day.instance, partition_key=D.isoformat(), asset_selection=[LIVE_JSON]
    )
    assert result.success
    assert {k: (live_day.exports / k / f"{D.isoformat()}.json").read_bytes() for k in before} == before
    [mat] = result.asset_materializations_for_node("exports__live_json")
    assert mat.metadata["held_back"].value is True
    assert mat.metadata["held_back_file"].value == f"landing/{bad_file.relative_to(landing)}"
    assert "GAME_STATUS_ID" in mat.metadata["held_back_field"].value


REFERENCE = REPO.parent / "shared" / "reference" / "payloads"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the recorded API payloads (../shared/reference) are not here")
def test_the_models_read_the_recorded_production_payloads() -> None:
    """The real scoreboardv2 and /v1/box_scores bodies the platform recorded (2024-01-15) parse."""
    from nba_assets.transforms.live import parse_box_scores, parse_scoreboard

    day = date(2024, 1, 15)
    [board_file] = sorted((REFERENCE / "nbac_scoreboard_v2").glob("*.json"))
    games = parse_scoreboard(json.loads(board_file.read_text()), file=str(board_file), day=day)
    assert games.height == 11 and set(games["status"]) == {"final"}
    assert games["home_score"].null_count() == 0 and (games["period"] >= 4).all()
    [box_file] = sorted((REFERENCE / "bdl_box_scores").glob("*.json"))
    players = parse_box_scores(json.loads(box_file.read_text()), file=str(box_file), day=day)
    assert players["home_team"].n_unique() == 11 and players["box_final"].all()
    # the two feeds agree on the home teams and, summed, on the scores
    assert set(players["home_team"]) == set(games["home_team"])
    home = players.filter(pl.col("team") == pl.col("home_team")).group_by("home_team").agg(pl.col("points").sum())
    scores = dict(zip(games["home_team"].to_list(), games["home_score"].to_list(), strict=True))
    assert all(scores[t] == p for t, p in home.iter_rows())


def test_the_replay_server_answers_the_live_endpoints_as_the_clock_allows(live_day: LiveDay) -> None:
    import httpx

    from nba_assets.replay.server import ReplayServer
    from nba_assets.sources.live import BoxScoresBody, scoreboard_rows

    clock = {"now": et(D, 18)}
    moments = (et(D, 18), et(D, 20), et(D + timedelta(days=1), 1))  # before, between, after the games
    with ReplayServer(live_day.archive, now=lambda: clock["now"]) as server:
        for moment, expected in zip(moments, (["1", "1"], ["2", "1"], ["3", "3"]), strict=True):
            clock["now"] = moment
            board = httpx.get(f"{server.base_url}/stats/scoreboardv2", params={"GameDate": D.isoformat()}).json()
            rows = scoreboard_rows(board, file="scoreboard", partition=D.isoformat())
            assert [str(g.GAME_STATUS_ID) for g in rows["GameHeader"]] == expected
            us = httpx.get(f"{server.base_url}/stats/scoreboardv2", params={"GameDate": D.strftime("%m/%d/%Y")})
            assert us.json()["resultSets"] == board["resultSets"]  # MM/DD/YYYY, as stats.nba.com takes it
            box = httpx.get(
                f"{server.base_url}/v1/box_scores", params={"date": D.isoformat()}, headers={"Authorization": "k"}
            )
            parsed = BoxScoresBody.model_validate(box.json())
            numbers = [g.home_team_score is not None for g in parsed.data]
            assert numbers == [s == "3" for s in expected]  # numbers only once final
        assert httpx.get(f"{server.base_url}/v1/box_scores", params={"date": D.isoformat()}).status_code == 401
        bad = httpx.get(f"{server.base_url}/stats/scoreboardv2", params={"GameDate": "tonight"})
        assert bad.status_code == 400 and "tonight" in bad.json()["message"]


# ------------------------------------------------------------------------------ the Live page


def _serve(exports: Path):
    from nba_assets.web.server import ExportSource, serve_in_thread

    server = serve_in_thread(ExportSource(directory=exports))
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _check_calls(page, grading: dict) -> None:
    rows = page.locator("#live-calls tbody tr[data-player]")
    assert rows.count() == len(grading["calls"]) > 0
    shown = rows.evaluate_all("rs => rs.map(r => [r.dataset.player, r.dataset.status])")
    assert sorted(map(tuple, shown)) == sorted((c["player_lookup"], c["status"]) for c in grading["calls"])
    names = set(page.locator("#live-calls tbody td:first-child").all_inner_texts())
    assert names == {c["name"] for c in grading["calls"]}
    assert page.locator("#live-calls svg.progress").count() == len(grading["calls"])
    for status, n in grading["counts"].items():
        assert page.locator(f'[data-count="{status}"]').inner_text() == str(n)


def test_the_live_page_shows_scores_and_each_calls_progress(played: dict[str, Path], browser) -> None:
    from .test_web import DESKTOP, PHONE, Page

    # Mid-evening: game one final with its score, game two in progress without numbers.
    mid = played["mid"]
    live = json.loads((mid / "live" / f"{D.isoformat()}.json").read_text())
    grading = json.loads((mid / "live-grading" / f"{D.isoformat()}.json").read_text())
    server, url = _serve(mid)
    page = Page(browser, url, DESKTOP)
    try:
        page.open(f"#/live/{D.isoformat()}")
        p = page.page
        assert p.locator("h1").inner_text() == f"Live: {D.isoformat()}"
        assert p.locator("nav a.active").inner_text() == "Live"
        final, on = (next(g for g in live["games"] if g["status"] == s) for s in ("final", "in_progress"))
        card = p.locator(f'.live-game[data-game="{final["game_id"]}"]')
        assert card.locator(".live-score").inner_text() == f"{final['away_score']} – {final['home_score']}"
        assert p.locator(f'.live-game[data-game="{on["game_id"]}"] .live-score').inner_text() == "—"
        assert "none are made up here" in p.locator("main").inner_text()
        _check_calls(p, grading)
        pending = sum(c["status"] == "pending" for c in grading["calls"])
        p.select_option("#l-status", "pending")
        assert p.locator("#live-calls tbody tr[data-player]").count() == pending > 0
        p.select_option("#l-status", "")
        page.shot("live-mid-evening")
    finally:
        page.close()
        server.shutdown()
        server.server_close()

    # After the games, on the phone: #/live opens the latest live date, every call decided.
    final_dir = played["final"]
    grading = json.loads((final_dir / "live-grading" / f"{D.isoformat()}.json").read_text())
    server, url = _serve(final_dir)
    phone = Page(browser, url, PHONE)
    try:
        phone.open("#/live")
        p = phone.page
        assert p.locator("h1").inner_text() == f"Live: {D.isoformat()}"
        assert p.locator(".live-game[data-status=final]").count() == 2
        _check_calls(p, grading)
        assert p.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert p.locator("nav a", has_text="Live").is_visible()
        assert not p.locator("#live-calls thead").is_visible()  # the table turns into cards
        phone.shot("phone-live-final")
    finally:
        phone.close()
        server.shutdown()
        server.server_close()
