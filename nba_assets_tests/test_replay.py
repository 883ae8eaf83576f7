"""Replay archive: build small cuts of the real data files, serve them, talk to the server with httpx."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl
import pytest

from nba_assets.replay import ReplayServer, build_archive

ROOT = Path(__file__).resolve().parent.parent
BOX_FILE = ROOT / "data" / "player_box_scores.parquet"
LINES_FILE = ROOT / "data" / "player_points_lines_dfs.parquet"

BEFORE = "2023-12-01"  # season 2023-24, before the lines file starts: no tip-off times, no odds
AFTER = "2024-11-15"  # season 2024-25, with PrizePicks/Underdog lines
AUTH = {"Authorization": "replay-key"}
KEY = {"apiKey": "replay-key"}
ISO = "%Y-%m-%dT%H:%M:%SZ"

pytestmark = pytest.mark.skipif(
    not (BOX_FILE.is_file() and LINES_FILE.is_file()), reason="real data files are not present"
)


@pytest.fixture(scope="module")
def cuts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cuts")
    box = pl.read_parquet(BOX_FILE)
    lines = pl.read_parquet(LINES_FILE).filter(pl.col("game_date") == AFTER)
    paths = {
        "box_before": d / "box_before.parquet",
        "box_after": d / "box_after.parquet",
        "lines": d / "lines.parquet",
        "lines_no_line": d / "lines_no_line.parquet",
    }
    box.filter(pl.col("game_date") == BEFORE).write_parquet(paths["box_before"])
    box.filter(pl.col("game_date") == AFTER).write_parquet(paths["box_after"])
    lines.write_parquet(paths["lines"])
    lines.drop("line").write_parquet(paths["lines_no_line"])
    return paths


@pytest.fixture(scope="module")
def box(cuts: dict[str, Path]) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(cuts["box_before"]), pl.read_parquet(cuts["box_after"])])


@pytest.fixture(scope="module")
def lines(cuts: dict[str, Path]) -> pl.DataFrame:
    return pl.read_parquet(cuts["lines"])


@pytest.fixture(scope="module")
def archive(cuts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archive") / "replay"
    build_archive([cuts["box_before"], cuts["box_after"]], [cuts["lines"]], out)
    return out


@pytest.fixture(scope="module")
def client(archive: Path):
    with ReplayServer(archive) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


def _all_stats(client: httpx.Client, day: str, per_page: int = 100) -> tuple[list[dict], int]:
    rows: list[dict] = []
    pages = 0
    params: dict = {"dates[]": [day], "per_page": per_page}
    while True:
        r = client.get("/v1/stats", params=params, headers=AUTH)
        assert r.status_code == 200
        body = r.json()
        pages += 1
        assert body["meta"]["per_page"] == per_page
        rows.extend(body["data"])
        if "next_cursor" not in body["meta"]:
            return rows, pages
        params["cursor"] = body["meta"]["next_cursor"]


def _event_commence(lines: pl.DataFrame) -> dict[str, dt.datetime]:
    # an event's rows may disagree on commence_utc (a tip-off moved); the archive uses the latest
    frame = lines.group_by("event_id").agg(pl.col("commence_utc").max())
    return dict(frame.iter_rows())


@pytest.mark.parametrize("day", [BEFORE, AFTER])
def test_box_scores_round_trip_through_stats_games_and_schedule(
    client: httpx.Client, box: pl.DataFrame, lines: pl.DataFrame, day: str
) -> None:
    expected = box.filter(pl.col("game_date") == day)
    rows, _ = _all_stats(client, day)
    assert len(rows) == expected.height
    got = {(r["game"]["id"], r["player"]["id"]): r for r in rows}
    for e in expected.iter_rows(named=True):
        r = got[(int(e["game_id"]), e["player_id"])]
        assert (r["pts"], r["min"], r["fga"]) == (e["pts"], str(e["minutes"]), e["fga"])
        assert r["team"]["abbreviation"] == e["team"] and r["game"]["date"] == day

    team_pts = dict(
        ((g, t), p) for g, t, p in expected.group_by("game_id", "team").agg(pl.col("pts").sum()).iter_rows()
    )
    season = expected["season"][0]
    schedule = client.get("/stats/scheduleleaguev2", params={"LeagueID": "00", "Season": season}).json()
    mm, dd, yyyy = day[5:7], day[8:10], day[:4]
    label = f"{mm}/{dd}/{yyyy} 00:00:00"
    (games_day,) = [d for d in schedule["leagueSchedule"]["gameDates"] if d["gameDate"] == label]
    assert len(games_day["games"]) == expected["game_id"].n_unique()
    commence = {g: c for g, c in lines.group_by("game_id").agg(pl.col("commence_utc").max()).iter_rows()}
    for g in games_day["games"]:
        for side in ("homeTeam", "awayTeam"):
            assert g[side]["score"] == team_pts[(g["gameId"], g[side]["teamTricode"])]
        assert g["gameStatus"] == 3 and g["gameCode"].startswith(day.replace("-", ""))
        tip = commence.get(g["gameId"])
        assert g["gameDateTimeUTC"] == (tip.strftime(ISO) if tip else None)
        assert (g["gameTimeEst"] is None) == (tip is None)

    bdl_games = client.get("/v1/games", params={"dates[]": day, "per_page": 100}, headers=AUTH).json()["data"]
    assert [g["id"] for g in bdl_games] == sorted(int(g) for g in expected["game_id"].unique())
    for g in bdl_games:
        home, away = g["home_team"]["abbreviation"], g["visitor_team"]["abbreviation"]
        gid = f"{g['id']:010d}"
        assert g["home_team_score"] == team_pts[(gid, home)]
        assert g["visitor_team_score"] == team_pts[(gid, away)]
        tip = commence.get(gid)
        assert g["datetime"] == (tip.strftime("%Y-%m-%dT%H:%M:%S.000Z") if tip else None)


def test_stats_pagination_walks_pages_without_duplicates_or_gaps(client: httpx.Client, box: pl.DataFrame) -> None:
    rows, pages = _all_stats(client, AFTER, per_page=10)
    ids = [r["id"] for r in rows]
    assert pages >= 3
    assert len(ids) == len(set(ids)) == box.filter(pl.col("game_date") == AFTER).height
    assert ids == sorted(ids) and ids == list(range(ids[0], ids[0] + len(ids)))
    # the url-encoded spelling of dates[] and a multi-date union behave the same
    r = client.get(f"/v1/stats?dates%5B%5D={BEFORE}&dates%5B%5D={AFTER}&per_page=100", headers=AUTH).json()
    assert r["meta"] == {"per_page": 100, "next_cursor": r["data"][-1]["id"]} and r["data"][0]["id"] == 1
    # a date with no file is empty, not an error
    assert client.get("/v1/stats", params={"dates[]": "2020-01-01"}, headers=AUTH).json() == {
        "data": [],
        "meta": {"per_page": 25},
    }


def test_missing_credentials_are_401(client: httpx.Client) -> None:
    r = client.get("/v1/stats", params={"dates[]": AFTER})
    assert r.status_code == 401 and r.json() == {"error": "Unauthorized"}
    assert client.get("/v1/games", params={"dates[]": AFTER}).status_code == 401
    r = client.get("/v4/historical/sports/basketball_nba/events", params={"date": f"{AFTER}T16:00:00Z"})
    assert r.status_code == 401 and "message" in r.json()
    assert r.headers["content-type"] == "application/json"


def test_historical_odds_before_and_after_snapshot(archive: Path, lines: pl.DataFrame) -> None:
    commence = _event_commence(lines)
    event_id = sorted(commence)[0]
    snapshot = commence[event_id] - dt.timedelta(minutes=60)
    n_rows = lines.filter(pl.col("event_id") == event_id).height
    url = f"/v4/historical/sports/basketball_nba/events/{event_id}/odds"
    params = {**KEY, "regions": "us_dfs,us", "markets": "player_points", "oddsFormat": "american"}
    with ReplayServer(archive) as server, httpx.Client(base_url=server.base_url) as http:
        early = (snapshot - dt.timedelta(minutes=1)).strftime(ISO)
        r = http.get(url, params={**params, "date": early})
        assert r.status_code == 200
        body = r.json()
        assert body["timestamp"] == early and body["data"]["bookmakers"] == []
        assert body["data"]["id"] == event_id
        assert body["data"]["commence_time"] == commence[event_id].strftime(ISO)
        quota = [r.headers[f"x-requests-{k}"] for k in ("last", "used", "remaining")]
        assert quota == ["20", "20", "19980"]  # historical odds cost 10 per region
        for when in (snapshot, snapshot + dt.timedelta(hours=5)):
            body = http.get(url, params={**params, "date": when.strftime(ISO)}).json()
            assert body["timestamp"] == snapshot.strftime(ISO)
            books = body["data"]["bookmakers"]
            assert [b["key"] for b in books] == sorted(b["key"] for b in books)
            assert {b["title"] for b in books} <= {"PrizePicks", "Underdog"}
            outcomes = [o for b in books for m in b["markets"] for o in m["outcomes"]]
            assert {m["key"] for b in books for m in b["markets"]} == {"player_points"}
            assert sum(o["name"] == "Over" for o in outcomes) == n_rows
            assert sum(o["name"] == "Under" for o in outcomes) == n_rows
            assert all("price" not in o for o in outcomes)  # pick'em lines have no price
        # other markets are not archived; unknown events are 404
        body = http.get(url, params={**params, "markets": "h2h", "date": when.strftime(ISO)}).json()
        assert body["data"]["bookmakers"] == []
        r = http.get(url.replace(event_id, "nope"), params={**params, "date": early})
        assert r.status_code == 404 and "x-requests-used" in r.headers
        # live odds: the latest snapshot, bare event object
        live = http.get(
            f"/v4/sports/basketball_nba/events/{event_id}/odds",
            params={**KEY, "regions": "us_dfs", "markets": "player_points"},
        )
        assert live.headers["x-requests-last"] == "1"
        live_books = live.json()["bookmakers"]
        assert sum(o["name"] == "Over" for b in live_books for o in b["markets"][0]["outcomes"]) == n_rows


def test_events_window_filtering(client: httpx.Client, lines: pl.DataFrame) -> None:
    commence = _event_commence(lines)
    times = sorted(set(commence.values()))
    lo, hi = times[0], times[1]
    expected = sorted((c.strftime(ISO), e) for e, c in commence.items() if lo <= c <= hi)
    assert 0 < len(expected) < len(commence)
    params = {**KEY, "commenceTimeFrom": lo.strftime(ISO), "commenceTimeTo": hi.strftime(ISO)}
    url = "/v4/historical/sports/basketball_nba/events"
    r = client.get(url, params={**params, "date": f"{AFTER}T16:00:00Z"})
    assert r.status_code == 200 and r.headers["x-requests-last"] == "1"
    body = r.json()
    assert body["timestamp"] == f"{AFTER}T16:00:00Z" and body["previous_timestamp"] is None
    assert [(e["commence_time"], e["id"]) for e in body["data"]] == expected
    teams = pl.read_csv(ROOT / "nba_assets" / "reference" / "teams.csv")
    full_names = set(teams["full_name"])
    assert all(e["home_team"] in full_names and e["sport_key"] == "basketball_nba" for e in body["data"])
    live = client.get("/v4/sports/basketball_nba/events", params=params).json()
    assert live == body["data"]
    everything = client.get(url, params={**KEY, "date": f"{AFTER}T16:00:00Z"})
    assert len(everything.json()["data"]) == len(commence)
    assert client.get(url, params=KEY).status_code == 422  # historical needs a date


def test_schedule_by_season_via_both_routes(client: httpx.Client) -> None:
    latest = client.get("/static/json/staticData/scheduleLeagueV2.json")
    assert latest.status_code == 200 and latest.headers["content-type"] == "application/json"
    assert latest.json()["leagueSchedule"]["seasonYear"] == "2024-25"
    older = client.get("/stats/scheduleleaguev2", params={"LeagueID": "00", "Season": "2023-24"}).json()
    assert older["leagueSchedule"]["seasonYear"] == "2023-24"
    assert [d["gameDate"] for d in older["leagueSchedule"]["gameDates"]] == ["12/01/2023 00:00:00"]
    missing = client.get("/stats/scheduleleaguev2", params={"LeagueID": "00", "Season": "2019-20"})
    assert missing.status_code == 404 and "message" in missing.json()
    assert client.get("/nothing/here").status_code == 404


def test_lines_file_missing_line_is_a_clear_error(cuts: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line") as info:
        build_archive([cuts["box_after"]], [cuts["lines_no_line"]], tmp_path / "replay")
    assert str(cuts["lines_no_line"]) in str(info.value) and "'line'" in str(info.value)
    assert not (tmp_path / "replay").exists()
    wrong = tmp_path / "wrong_dtype.parquet"
    pl.read_parquet(cuts["lines"]).with_columns(pl.col("line").cast(pl.String)).write_parquet(wrong)
    with pytest.raises(ValueError, match="'line'.*String"):
        build_archive([cuts["box_after"]], [wrong], tmp_path / "replay")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(ValueError, match="junk.parquet"):
        build_archive([junk], [cuts["lines"]], tmp_path / "replay")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_is_deterministic_and_failures_keep_the_old_archive(cuts: dict[str, Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "replay", tmp_path / "b" / "replay"
    build_archive([cuts["box_before"], cuts["box_after"]], [cuts["lines"]], a)
    build_archive([cuts["box_before"], cuts["box_after"]], [cuts["lines"]], b)
    tree_a = _tree(a)
    assert len(tree_a) > 10 and tree_a == _tree(b)

    with pytest.raises(ValueError, match="line"):
        build_archive([cuts["box_before"]], [cuts["lines_no_line"]], a)
    assert _tree(a) == tree_a
    assert sorted(p.name for p in a.parent.iterdir()) == ["replay"]  # no temp dirs left behind

    build_archive([cuts["box_before"]], [], a)  # rebuilding replaces the archive
    assert not (a / "odds_api").exists() and not (a / "balldontlie/v1/stats" / f"{AFTER}.json").exists()
    assert sorted(p.name for p in a.parent.iterdir()) == ["replay"]

    not_archive = tmp_path / "precious"
    not_archive.mkdir()
    (not_archive / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not a replay archive"):
        build_archive([cuts["box_before"]], [], not_archive)
    assert (not_archive / "keep.txt").exists()


def test_prices_and_recorded_snapshot_times(cuts: dict[str, Path], lines: pl.DataFrame, tmp_path: Path) -> None:
    event_id = sorted(lines["event_id"].unique())[0]
    one = lines.filter(pl.col("event_id") == event_id, pl.col("bookmaker") == "prizepicks")
    snap = dt.datetime(2024, 11, 15, 17, 1, 8, tzinfo=dt.UTC)
    book = one.with_columns(
        pl.lit("fanduel").alias("bookmaker"),
        pl.lit(-110).alias("over_price"),
        pl.lit(None, dtype=pl.Int64).alias("under_price"),
        pl.lit(snap).dt.replace_time_zone("UTC").alias("snapshot_utc"),
    )
    path = tmp_path / "book.parquet"
    book.write_parquet(path)
    out = build_archive([cuts["box_after"]], [cuts["lines"], path], tmp_path / "replay")
    assert (out / "odds_api/event_odds" / event_id / "us" / "2024-11-15T17-01-08Z.json").is_file()
    with ReplayServer(out) as server, httpx.Client(base_url=server.base_url) as http:
        body = http.get(
            f"/v4/historical/sports/basketball_nba/events/{event_id}/odds",
            params={**KEY, "regions": "us", "markets": "player_points", "date": "2024-11-15T18:00:00Z"},
        ).json()
    assert body["timestamp"] == "2024-11-15T17:01:08Z"
    (fanduel,) = body["data"]["bookmakers"]
    assert (fanduel["key"], fanduel["title"]) == ("fanduel", "Fanduel")
    assert fanduel["last_update"] == fanduel["markets"][0]["last_update"] == "2024-11-15T17:01:08Z"
    outcomes = fanduel["markets"][0]["outcomes"]
    assert [o["name"] for o in outcomes[:2]] == ["Over", "Under"]
    assert all(o.get("price") == -110 for o in outcomes if o["name"] == "Over")
    assert all("price" not in o for o in outcomes if o["name"] == "Under")
    assert [o["description"] for o in outcomes] == sorted(o["description"] for o in outcomes)


def test_server_refuses_a_directory_without_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="manifest"):
        ReplayServer(tmp_path).start()


def test_cli_build_and_serve(cuts: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "replay"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "nba_assets.replay"]
    built = subprocess.run(
        [*cmd, "build", "--box-scores", str(cuts["box_before"]), "--box-scores", str(cuts["box_after"]),
         "--lines", str(cuts["lines"]), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    manifest = (out / "manifest.json").read_text()
    assert '"format":"nba-replay/1"' in manifest and '"snapshot_lead_minutes":60' in manifest

    proc = subprocess.Popen(
        [*cmd, "serve", "--dir", str(out), "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/v1/games", params={"dates[]": AFTER}, headers=AUTH).json()["data"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    assert code == 0


# ------------------------------------------------------------------ the schedule file (tonight)

SCHEDULE_FILE = ROOT / "data" / "schedule.csv"
TONIGHT = "2024-12-10"  # two games (NBA Cup quarter-finals), lines from PrizePicks/Underdog


def test_committed_schedule_is_derived_from_the_data_files(tmp_path: Path) -> None:
    from nba_assets.replay.build import derive_schedule
    from nba_assets.replay.schedule import load_schedule, write_schedule

    derived = derive_schedule([BOX_FILE], [LINES_FILE])
    fresh = write_schedule(derived, tmp_path / "schedule.csv")
    assert fresh.read_bytes() == SCHEDULE_FILE.read_bytes(), "run `python -m nba_assets.replay schedule`"

    schedule = load_schedule(SCHEDULE_FILE)
    box = pl.read_parquet(BOX_FILE, columns=["game_id", "game_date", "season", "home_team", "away_team"])
    games = box.unique("game_id").sort("game_date", "game_id")
    assert schedule.height == games.height == 4073  # every game of the game logs, once
    assert schedule.select(games.columns).equals(games)
    assert set(schedule["season"]) == {"2021-22", "2022-23", "2023-24", "2024-25"}
    # tip-off = the latest commence_utc of the game's events in the lines file; none invented
    lines = pl.read_parquet(LINES_FILE, columns=["game_id", "commence_utc"])
    tips = dict(lines.group_by("game_id").agg(pl.col("commence_utc").max()).iter_rows())
    got = dict(schedule.filter(pl.col("tipoff_utc").is_not_null()).select("game_id", "tipoff_utc").iter_rows())
    assert got == tips and len(got) == 373
    assert schedule.filter(pl.col("game_date") < "2024-10-22")["tipoff_utc"].null_count() == 3690


@pytest.fixture(scope="module")
def tonight(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An archive of the box scores of the two days before TONIGHT and the lines up to TONIGHT, with
    the real schedule cut to 2024-12-08..2024-12-11 (a small archive)."""
    d = tmp_path_factory.mktemp("tonight")
    keep_box = pl.col("game_date").is_between(pl.lit("2024-12-08"), pl.lit("2024-12-09"))
    pl.read_parquet(BOX_FILE).filter(keep_box).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES_FILE).filter(
        pl.col("game_date").is_between(pl.lit("2024-12-08"), pl.lit(TONIGHT))
    ).write_parquet(d / "lines.parquet")
    schedule = pl.read_csv(SCHEDULE_FILE, infer_schema=False)
    schedule.filter(pl.col("game_date").is_between(pl.lit("2024-12-08"), pl.lit("2024-12-11"))).write_csv(
        d / "schedule.csv"
    )
    out = build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay", schedule=d / "schedule.csv")
    return {"dir": d, "archive": out, "schedule": d / "schedule.csv"}


def test_scheduled_games_without_box_scores_are_served_as_not_yet_played(tonight: dict[str, Path]) -> None:
    schedule = pl.read_csv(tonight["schedule"], infer_schema=False)
    tonight_games = schedule.filter(pl.col("game_date") == TONIGHT)
    assert tonight_games.height == 2
    with ReplayServer(tonight["archive"]) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        cdn = http.get("/static/json/staticData/scheduleLeagueV2.json").json()["leagueSchedule"]
        by_day = {gd["gameDate"][:10]: gd["games"] for gd in cdn["gameDates"]}
        assert sorted(by_day) == ["12/08/2024", "12/09/2024", "12/10/2024", "12/11/2024"]
        # played (box scores given): final with scores; the rest: as the live CDN shows a game to come
        assert {g["gameStatus"] for d in ("12/08/2024", "12/09/2024") for g in by_day[d]} == {3}
        for day in ("12/10/2024", "12/11/2024"):
            for g in by_day[day]:
                assert (g["gameStatus"], g["homeTeam"]["score"], g["awayTeam"]["score"]) == (1, 0, 0)
                assert g["gameStatusText"].endswith(" pm ET") and g["gameDateTimeUTC"] is not None
        mil_orl = next(g for g in by_day["12/10/2024"] if g["gameId"] == "0022401201")
        assert (mil_orl["gameDateTimeUTC"], mil_orl["gameStatusText"]) == ("2024-12-11T00:00:00Z", "7:00 pm ET")
        assert (mil_orl["homeTeam"]["teamTricode"], mil_orl["awayTeam"]["teamTricode"]) == ("MIL", "ORL")

        games = http.get("/v1/games", params={"dates[]": TONIGHT}, headers=AUTH).json()["data"]
        assert sorted(f"{g['id']:010d}" for g in games) == sorted(tonight_games["game_id"])
        for g in games:
            assert (g["period"], g["time"], g["home_team_score"], g["visitor_team_score"]) == (0, None, 0, 0)
            assert g["status"] == g["datetime"].replace(".000Z", "Z")  # a scheduled game: its tip-off
        played = http.get("/v1/games", params={"dates[]": "2024-12-09"}, headers=AUTH).json()["data"]
        assert [g["status"] for g in played] == ["Final"]
        # no box scores for the games to come; the played days' stats are all there
        assert http.get("/v1/stats", params={"dates[]": TONIGHT}, headers=AUTH).json()["data"] == []
        rows, _ = _all_stats(http, "2024-12-09")
        assert (
            len(rows)
            == pl.read_parquet(tonight["dir"] / "box.parquet").filter(pl.col("game_date") == "2024-12-09").height
        )
        # tonight's props are there, before tip-off
        events = http.get(
            "/v4/historical/sports/basketball_nba/events", params={**KEY, "date": f"{TONIGHT}T15:00:00Z"}
        ).json()["data"]
        assert {e["commence_time"] for e in events} >= {"2024-12-11T00:00:00Z", "2024-12-11T02:30:00Z"}
    manifest = json_manifest(tonight["archive"])
    assert manifest["counts"]["games"] == schedule.height and manifest["counts"]["games_final"] == 13
    assert (manifest["last_date"], manifest["schedule_last_date"]) == (TONIGHT, "2024-12-11")
    assert [i["kind"] for i in manifest["inputs"]] == ["box_scores", "lines", "schedule"]


def json_manifest(archive: Path) -> dict:
    return json.loads((archive / "manifest.json").read_text())


def test_a_full_schedule_changes_no_body_of_an_archive_whose_games_all_have_box_scores(
    cuts: dict[str, Path], tmp_path: Path
) -> None:
    legacy = build_archive([cuts["box_after"]], [cuts["lines"]], tmp_path / "legacy")
    schedule = pl.read_csv(SCHEDULE_FILE, infer_schema=False).filter(pl.col("game_date") == AFTER)
    schedule.write_csv(tmp_path / "schedule.csv")
    scheduled = build_archive(
        [cuts["box_after"]], [cuts["lines"]], tmp_path / "scheduled", schedule=tmp_path / "schedule.csv"
    )
    a, b = _tree(legacy), _tree(scheduled)
    assert a.pop("manifest.json") != b.pop("manifest.json")  # the schedule is listed among the inputs
    assert a == b and len(a) > 10


def test_tonight_build_is_deterministic(tonight: dict[str, Path], tmp_path: Path) -> None:
    d = tonight["dir"]
    again = build_archive([d / "box.parquet"], [d / "lines.parquet"], tmp_path / "replay", schedule=d / "schedule.csv")
    assert _tree(again) == _tree(tonight["archive"])
    # the same schedule as parquet (game_date a Date, tipoff_utc a Datetime) serves the same bodies
    from nba_assets.replay.schedule import load_schedule

    as_parquet = tmp_path / "schedule.parquet"
    load_schedule(d / "schedule.csv").with_columns(pl.col("game_date").str.to_date()).write_parquet(as_parquet)
    other = build_archive([d / "box.parquet"], [d / "lines.parquet"], tmp_path / "other", schedule=as_parquet)
    a, b = _tree(other), _tree(tonight["archive"])
    assert a.pop("manifest.json") != b.pop("manifest.json") and a == b


def test_box_scores_must_agree_with_the_schedule(tonight: dict[str, Path], tmp_path: Path) -> None:
    d = tonight["dir"]
    schedule = pl.read_csv(d / "schedule.csv", infer_schema=False)
    without = tmp_path / "without.csv"
    schedule.filter(pl.col("game_id") != "0022400359").write_csv(without)  # the one game of 12-09
    with pytest.raises(ValueError, match="0022400359.*not in the schedule"):
        build_archive([d / "box.parquet"], [d / "lines.parquet"], tmp_path / "replay", schedule=without)
    swapped = tmp_path / "swapped.csv"
    schedule.with_columns(
        pl.when(pl.col("game_id") == "0022400359")
        .then(pl.col("away_team"))
        .otherwise(pl.col("home_team"))
        .alias("home_team"),
        pl.when(pl.col("game_id") == "0022400359")
        .then(pl.col("home_team"))
        .otherwise(pl.col("away_team"))
        .alias("away_team"),
    ).write_csv(swapped)
    with pytest.raises(ValueError, match="0022400359 has home_team"):
        build_archive([d / "box.parquet"], [d / "lines.parquet"], tmp_path / "replay", schedule=swapped)
    bad_tip = tmp_path / "bad_tip.csv"
    schedule.with_columns(pl.lit("7:00 pm").alias("tipoff_utc")).write_csv(bad_tip)
    with pytest.raises(ValueError, match="bad_tip.csv.*tipoff_utc"):
        build_archive([d / "box.parquet"], [d / "lines.parquet"], tmp_path / "replay", schedule=bad_tip)
    with pytest.raises(ValueError, match="schedule file does not exist"):
        build_archive([d / "box.parquet"], [d / "lines.parquet"], tmp_path / "replay", schedule=tmp_path / "no.csv")
    assert not (tmp_path / "replay").exists()


def test_cli_build_takes_the_committed_schedule_by_default(tonight: dict[str, Path], tmp_path: Path) -> None:
    d = tonight["dir"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "nba_assets.replay", "build", "--box-scores", str(d / "box.parquet"),
           "--lines", str(d / "lines.parquet")]  # fmt: skip
    built = subprocess.run(
        [*cmd, "--out", str(tmp_path / "default")], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT
    )
    assert built.returncode == 0, built.stderr
    manifest = json_manifest(tmp_path / "default")
    (entry,) = [i for i in manifest["inputs"] if i["kind"] == "schedule"]
    assert entry["path"] == "data/schedule.csv" and entry["rows"] == 4073
    assert manifest["seasons"] == ["2021-22", "2022-23", "2023-24", "2024-25"]
    assert (tmp_path / "default/balldontlie/v1/games" / f"{TONIGHT}.json").is_file()
    assert not (tmp_path / "default/balldontlie/v1/stats" / f"{TONIGHT}.json").exists()

    legacy = subprocess.run(
        [*cmd, "--schedule-from-box-scores", "--out", str(tmp_path / "legacy")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert legacy.returncode == 0, legacy.stderr
    assert not (tmp_path / "legacy/balldontlie/v1/games" / f"{TONIGHT}.json").exists()

    check = subprocess.run(
        [sys.executable, "-m", "nba_assets.replay", "schedule", "--check"],
        capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert check.returncode == 0 and "up to date (4073 games)" in check.stdout, check.stderr
