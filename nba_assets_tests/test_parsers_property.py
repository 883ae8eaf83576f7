"""Property-based tests of every payload parser (hypothesis), seeded from real bodies.

Seeds: the bodies a replay archive cut from ``data/`` serves for one real game day (schedule,
balldontlie stats, The Odds API event odds), and the recorded production shapes in
``../shared/reference/payloads`` (read in place, never copied; skipped when absent). Each example
damages a seed the way a bad API does — a body cut short, a field deleted, a value of the wrong
type, an extra field, a unicode name — and the parser must either return a frame in its table's
schema or raise ``PayloadError`` naming the file, the field and the game date. Any other exception
fails the test.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nba_assets.identity import bdl_teams
from nba_assets.replay import build_archive
from nba_assets.schemas import schema_for
from nba_assets.sources.payloads import PayloadError
from nba_assets.transforms.raw import (
    parse_bdl_stats_by_day,
    parse_event_props,
    parse_event_snapshot,
    parse_schedule_by_day,
)

from .conftest import BOX_SCORES, LINES

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

DAY = date(2024, 11, 15)  # several games
DAY_BEFORE = date(2024, 11, 14)  # one game
SHAPES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "payloads"
EXAMPLES = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# ------------------------------------------------------------------------------ seeds


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("property_archive")
    keep = pl.col("game_date").is_in([DAY_BEFORE.isoformat(), DAY.isoformat()])
    pl.read_parquet(BOX_SCORES).filter(keep).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(d / "lines.parquet")
    return build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")


def _shape(folder: str) -> Any:
    files = sorted((SHAPES / folder).glob("*.json")) if (SHAPES / folder).is_dir() else []
    if not files:
        pytest.skip(f"the recorded shape reference {folder} is not present")
    return json.loads(files[0].read_text())


@pytest.fixture(scope="module")
def stats_seed(archive: Path) -> dict[str, Any]:
    body = json.loads((archive / "balldontlie" / "v1" / "stats" / f"{DAY}.json").read_text())
    # A real cut: three rows of two different games, so the schedule match is exercised.
    games = {r["game"]["id"] for r in body["data"]}
    assert len(games) >= 2
    first, second = sorted(games)[:2]
    rows = [r for r in body["data"] if r["game"]["id"] == first][:2] + [
        r for r in body["data"] if r["game"]["id"] == second
    ][:1]
    return {"data": rows, "meta": {"per_page": 100}}


@pytest.fixture(scope="module")
def stats_schedule(archive: Path) -> pl.DataFrame:
    """The real schedule of the day, parsed from the archive's schedule body."""
    (path,) = (archive / "nba_cdn" / "scheduleLeagueV2").glob("*.json")
    frame, rejected = parse_schedule_by_day([json.loads(path.read_text())], {DAY_BEFORE, DAY})
    assert rejected == {} and frame.height > 0
    return frame


@pytest.fixture(scope="module")
def stats_before(archive: Path) -> dict[str, Any]:
    """Two real rows of the day before, left untouched next to the damaged day."""
    body = json.loads((archive / "balldontlie" / "v1" / "stats" / f"{DAY_BEFORE}.json").read_text())
    return {"data": body["data"][:2], "meta": {"per_page": 100}}


@pytest.fixture(scope="module")
def schedule_seed(archive: Path) -> dict[str, Any]:
    (path,) = (archive / "nba_cdn" / "scheduleLeagueV2").glob("*.json")
    body = json.loads(path.read_text())
    dates = [d for d in body["leagueSchedule"]["gameDates"] if d["games"][0]["gameDateEst"][:10] == DAY.isoformat()]
    body["leagueSchedule"]["gameDates"] = [{**d, "games": d["games"][:3]} for d in dates]
    return body


@pytest.fixture(scope="module")
def odds_seed(archive: Path) -> dict[str, Any]:
    for path in sorted((archive / "odds_api" / "event_odds").rglob("*.json")):
        body = json.loads(path.read_text())
        if body.get("bookmakers"):
            book = body["bookmakers"][0]
            market = book["markets"][0]
            return {**body, "bookmakers": [{**book, "markets": [{**market, "outcomes": market["outcomes"][:4]}]}]}
    raise AssertionError("no event odds with bookmakers in the archive")


# --------------------------------------------------------------------------- damage

_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
JSON = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)
# Names as the books and APIs send them: any script, combining marks, apostrophes, no surrogates.
NAMES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def damaged(draw: st.DrawFn, seed: Any, allow_bytes: bool = True) -> Any:
    """The seed with one to three damages, then (maybe) serialized and cut short."""
    body = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(body)
        path = draw(st.sampled_from(paths))
        target = _get(body, path[:-1]) if path else None
        kind = draw(st.sampled_from(["delete", "retype", "extra", "unicode"]))
        if kind == "delete" and path:
            del target[path[-1]]
        elif kind == "retype":
            value = draw(JSON)
            if path:
                target[path[-1]] = value
            else:
                body = value
        elif kind == "extra":
            node = _get(body, path)
            if isinstance(node, dict):
                node[draw(st.text(max_size=10))] = draw(JSON)
        elif kind == "unicode":
            strings = [p for p in paths if p and isinstance(_get(body, p), str)]
            if strings:
                where = draw(st.sampled_from(strings))
                _get(body, where[:-1])[where[-1]] = draw(NAMES)
    if allow_bytes and draw(st.booleans()):
        raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
        if draw(st.booleans()):
            raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
        return raw
    return body


def _holds(run, *, file: str, day: str, schema: pl.Schema | None = None):
    """Either a frame (in ``schema``) or a ``PayloadError`` naming file, field and game date."""
    try:
        frame = run()
    except PayloadError as exc:
        event("rejected")
        message = str(exc)
        assert file in message and day in message, message
        assert exc.file and file in exc.file and exc.field and exc.game_date and day in exc.game_date, vars(exc)
        return exc
    event("parsed")
    if schema is not None:
        assert frame.schema == schema
    return frame


# ------------------------------------------------------------------------------ tests


def test_the_seeds_parse_as_they_are(stats_seed, stats_schedule, schedule_seed, odds_seed) -> None:
    box, rejected = parse_bdl_stats_by_day({DAY: [("seed", stats_seed)]}, stats_schedule)
    assert rejected == {} and box.height == 3 and box["game_id"].null_count() == 0
    assert box.filter(pl.col("game_date") == DAY).height == 3
    schedule, rejected = parse_schedule_by_day([schedule_seed], {DAY})
    assert rejected == {} and schedule.height == 3
    props = parse_event_props(odds_seed, datetime(2024, 11, 15, tzinfo=UTC), DAY)
    assert props.height >= 2 and props["line"].null_count() == 0


@EXAMPLES
@given(data=st.data())
def test_stats_pages_parse_or_reject_their_day(data: st.DataObject, stats_seed, stats_before, stats_schedule) -> None:
    body = data.draw(damaged(stats_seed))
    frame, rejected = parse_bdl_stats_by_day(
        {DAY: [("landing/balldontlie/x.json.gz", body)], DAY_BEFORE: [("before", stats_before)]}, stats_schedule
    )
    assert frame.schema == schema_for("nba_raw", "bdl_player_boxscores")
    assert set(rejected) <= {DAY}
    # The untouched day in the same call always lands, whatever happened to the other one.
    assert frame.filter(pl.col("game_date") == DAY_BEFORE).height == len(stats_before["data"])
    frame = frame.filter(pl.col("game_date") == DAY)
    event("rejected" if DAY in rejected else "parsed")
    if DAY in rejected:
        exc = rejected[DAY]
        assert "landing/balldontlie/x.json.gz" in str(exc) and DAY.isoformat() in str(exc), str(exc)
        assert exc.field and exc.game_date == DAY.isoformat()
        assert frame.height == 0
    else:
        assert set(frame["game_date"].unique()) <= {DAY}
        # Every stored statistic is the body's own value: a null stays null, never a 0.
        decoded = json.loads(body) if isinstance(body, bytes) else body
        sent = {r["player"]["id"]: r for r in decoded["data"]}
        for player, pts, reb in frame.select("bdl_player_id", "pts", "reb").iter_rows():
            if len(sent) == len(decoded["data"]):  # player ids still unique after the damage
                assert (pts, reb) == (sent[player].get("pts"), sent[player].get("reb"))


@EXAMPLES
@given(data=st.data())
def test_schedule_bodies_parse_or_reject_per_game_day(data: st.DataObject, schedule_seed) -> None:
    body = data.draw(damaged(schedule_seed))
    label = "nba schedule landing/nba_cdn/x.json.gz"
    try:
        frame, rejected = parse_schedule_by_day([body], {DAY}, source=label)
    except PayloadError as exc:  # the envelope itself (or a bad game without a readable date)
        assert label in str(exc) and exc.field and exc.game_date, str(exc)
        event("window rejected")
        return
    event("day rejected" if rejected else "parsed")
    assert frame.schema == schema_for("nba_raw", "nbac_schedule")
    assert set(rejected) <= {DAY}
    for exc in rejected.values():
        assert label in str(exc) and DAY.isoformat() in str(exc) and exc.field.startswith("leagueSchedule.gameDates[")
    if rejected:
        assert frame.height == 0


@EXAMPLES
@given(data=st.data())
def test_event_odds_parse_or_reject(data: st.DataObject, odds_seed) -> None:
    body = data.draw(damaged(odds_seed))
    historical = data.draw(st.booleans())
    if historical and data.draw(st.booleans()):
        stamp = data.draw(st.sampled_from(["2024-11-15T18:00:00Z", "2024-13-40T99:00:00Z", ""]))
        body = {"timestamp": stamp, "data": body}
    fetched = datetime(2024, 11, 15, 18, tzinfo=UTC)
    _holds(
        lambda: parse_event_snapshot(body, historical, fetched, DAY, file="landing/odds_api/x.json.gz"),
        file="landing/odds_api/x.json.gz",
        day=DAY.isoformat(),
        schema=None,
    )


@EXAMPLES
@given(data=st.data())
def test_schedule_one_bad_game_rejects_only_its_day(data: st.DataObject, archive: Path) -> None:
    """Two real game days in one body: damage one game of the first; the second day always parses."""
    (path,) = (archive / "nba_cdn" / "scheduleLeagueV2").glob("*.json")
    body = json.loads(path.read_text())
    by_day = {d["games"][0]["gameDateEst"][:10]: d for d in body["leagueSchedule"]["gameDates"] if d["games"]}
    first, second = by_day[DAY_BEFORE.isoformat()], by_day[DAY.isoformat()]
    day_one, day_two = DAY_BEFORE, DAY
    game = first["games"][0]
    field = data.draw(st.sampled_from(sorted(k for k in game if k != "gameDateEst")))
    game = {**game, field: data.draw(JSON)}
    body["leagueSchedule"]["gameDates"] = [{**first, "games": [game, *first["games"][1:]]}, second]
    frame, rejected = parse_schedule_by_day([body], {day_one, day_two}, source="s")
    assert set(rejected) <= {day_one}
    assert frame.filter(pl.col("game_date") == day_two).height == len(
        [g for g in second["games"] if not g["gameId"].startswith(("001", "003"))]
    )


def test_a_null_statistic_stays_null(stats_seed, stats_schedule) -> None:
    body = copy.deepcopy(stats_seed)
    body["data"][0]["pts"] = None
    frame, rejected = parse_bdl_stats_by_day({DAY: [("seed", body)]}, stats_schedule)
    assert rejected == {}
    row = frame.filter(pl.col("bdl_player_id") == body["data"][0]["player"]["id"])
    assert row.height == 1 and row["pts"].to_list() == [None] and row["minutes"][0] > 0


@pytest.mark.parametrize("folder", ["bdl_player_box_scores"])
@EXAMPLES
@given(data=st.data())
def test_recorded_stats_shape_parses_or_rejects(folder: str, data: st.DataObject) -> None:
    seed = _shape(folder)
    seed = {"data": seed["data"][:3], "meta": seed["meta"]}
    teams = dict(bdl_teams().select("bdl_team_id", "abbreviation").iter_rows())
    games = {r["game"]["id"]: r["game"] for r in seed["data"]}
    day = date.fromisoformat(seed["data"][0]["game"]["date"])
    schedule = pl.DataFrame(
        [
            {
                "game_date": day,
                "game_id": str(g["id"]),
                "home_team": teams[g["home_team_id"]],
                "away_team": teams[g["visitor_team_id"]],
            }
            for g in games.values()
        ]
    )
    body = data.draw(damaged(seed))
    frame, rejected = parse_bdl_stats_by_day({day: [("recorded", body)]}, schedule)
    assert set(rejected) <= {day} and frame.schema == schema_for("nba_raw", "bdl_player_boxscores")
    for exc in rejected.values():
        assert "recorded" in str(exc) and day.isoformat() in str(exc) and exc.field


@EXAMPLES
@given(data=st.data())
def test_recorded_schedule_shape_parses_or_rejects(data: st.DataObject) -> None:
    seed = _shape("nbac_schedule_cdn")
    day = date.fromisoformat(seed["leagueSchedule"]["gameDates"][0]["games"][0]["gameDateEst"][:10])
    seed = {"leagueSchedule": {**seed["leagueSchedule"], "gameDates": seed["leagueSchedule"]["gameDates"][:1]}}
    body = data.draw(damaged(seed))
    try:
        frame, rejected = parse_schedule_by_day([body], {day}, source="recorded")
    except PayloadError as exc:
        assert "recorded" in str(exc) and exc.field and exc.game_date
        return
    assert frame.schema == schema_for("nba_raw", "nbac_schedule") and set(rejected) <= {day}
