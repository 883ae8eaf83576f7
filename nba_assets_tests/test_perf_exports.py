"""The exports' batch transforms (issue 12) equal the one-day-at-a-time computation they replace.

``day_documents`` builds the predictions documents of many game dates in one polars pass per block
of dates: last games by an as-of index into the history, hit rates at the line and defense ranks by
one group_by over (day, player) / (day, team). Here, on the real box scores and lines of ``data/``,
each of those equals, day by day, the per-day filters the exports used before (kept below as the
reference), and a day's value does not depend on which other days are computed with it.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from nba_assets.transforms import exports as X
from nba_assets.transforms.asof import HISTORY_DAYS

from .conftest import BOX_SCORES, LINES

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)


@pytest.fixture(scope="module")
def history(box_scores: pl.DataFrame, points_lines: pl.DataFrame) -> pl.DataFrame:
    """player_game_summary's columns the exports read, from the real box scores (opp_pts: the
    opponent's points in the game; points_line: the player's lowest line of the day)."""
    team_pts = box_scores.group_by("game_id", "team").agg(pl.col("pts").sum().alias("opp_pts"))
    lines = points_lines.group_by("game_date", "player_id").agg(pl.col("line").min().alias("points_line"))
    return (
        box_scores.select("game_date", "game_id", "player_id", "team", "opponent", "minutes", "pts")
        .join(team_pts.rename({"team": "opponent"}), on=["game_id", "opponent"], how="left")
        .join(lines, on=["game_date", "player_id"], how="left")
    )


@pytest.fixture(scope="module")
def lined(points_lines: pl.DataFrame) -> pl.DataFrame:
    """(_day, player_id, points_line): each lined player of each lined game date, his lowest line."""
    return (
        points_lines.filter(pl.col("player_id").is_not_null())
        .group_by("game_date", "player_id")
        .agg(pl.col("line").min().alias("points_line"))
        .rename({"game_date": "_day"})
        .sort("_day", "player_id")
    )


# ------------------------------------------------------------------ the per-day reference (before)


def _last_games_one_day(history: pl.DataFrame, day: date, player_ids: list[int]) -> dict[int, list[dict]]:
    first = day - timedelta(days=HISTORY_DAYS)
    h = (
        history.filter(pl.col("game_date").is_between(first, day, closed="left"))
        .filter(pl.col("player_id").is_in(player_ids))
        .sort("game_date", descending=True)
        .group_by("player_id", maintain_order=True)
        .head(X.LAST_GAMES)
    )
    out: dict[int, list[dict]] = {}
    for r in h.iter_rows(named=True):
        out.setdefault(r["player_id"], []).append(
            {
                "game_date": r["game_date"].isoformat(),
                "opponent": r["opponent"],
                "minutes": r["minutes"],
                "points": r["pts"],
                "points_line": X._clean(r["points_line"]),
            }
        )
    return out


def _hit_rates_one_day(history: pl.DataFrame, day: date, lines: pl.DataFrame) -> dict[int, dict]:
    lines = lines.filter(pl.col("points_line").is_not_null()).unique("player_id", keep="first")
    played = (
        history.filter(
            pl.col("game_date").is_between(day - timedelta(days=HISTORY_DAYS), day, closed="left")
            & pl.col("player_id").is_in(lines["player_id"].implode())
            & (pl.col("minutes") > 0)
            & pl.col("pts").is_not_null()
        )
        .select("player_id", "game_date", "game_id", "pts")
        .join(lines.select("player_id", "points_line"), on="player_id")
        .sort(["player_id", "game_date", "game_id"], descending=[False, True, True])
        .with_columns(pl.int_range(1, pl.len() + 1).over("player_id").alias("_n"))
    )
    aggs = []
    for name, n in X.HIT_RATE_WINDOWS.items():
        keep = pl.col("_n") <= n if n is not None else pl.col("game_date") >= X.season_start(day)
        aggs += [
            keep.sum().alias(f"{name}__games"),
            (keep & (pl.col("pts") > pl.col("points_line"))).sum().alias(f"{name}__over"),
            (keep & (pl.col("pts") < pl.col("points_line"))).sum().alias(f"{name}__under"),
            (keep & (pl.col("pts") == pl.col("points_line"))).sum().alias(f"{name}__push"),
        ]
    out: dict[int, dict] = {}
    for r in played.group_by("player_id").agg(aggs).iter_rows(named=True):
        out[r["player_id"]] = {
            name: {
                "games": r[f"{name}__games"],
                "over": r[f"{name}__over"],
                "under": r[f"{name}__under"],
                "push": r[f"{name}__push"],
                "over_rate": X._clean(r[f"{name}__over"] / r[f"{name}__games"]) if r[f"{name}__games"] else None,
            }
            for name in X.HIT_RATE_WINDOWS
        }
    return out


def _defense_one_day(history: pl.DataFrame, day: date) -> dict[str, dict]:
    games = (
        history.filter(
            pl.col("game_date").is_between(X.season_start(day), day, closed="left") & pl.col("opp_pts").is_not_null()
        )
        .group_by("team", "game_id")
        .agg(pl.col("opp_pts").first())
    )
    if games.height == 0:
        return {}
    teams = (
        games.group_by("team")
        .agg(pl.len().alias("games"), pl.col("opp_pts").mean().alias("allowed"))
        .with_columns(pl.col("allowed").rank("min").cast(pl.Int64).alias("rank"))
    )
    return {
        r["team"]: {
            "rank": r["rank"],
            "teams": teams.height,
            "points_allowed_per_game": X._clean(r["allowed"]),
            "games": r["games"],
        }
        for r in teams.iter_rows(named=True)
    }


# ------------------------------------------------------------------------------------- the tests


def _days(lined: pl.DataFrame) -> list[date]:
    return lined["_day"].unique().sort().to_list()


def test_last_games_by_day_equal_the_per_day_filter(history, lined):
    days = _days(lined)
    batch = X.last_games_by_day(history, lined.select("_day", "player_id"))
    for day in days:
        ids = lined.filter(pl.col("_day") == day)["player_id"].to_list()
        expected = _last_games_one_day(history, day, ids)
        got = {pid: batch[(day, pid)] for pid in ids if (day, pid) in batch}
        assert got == expected, day
    assert any(len(v) == X.LAST_GAMES for v in batch.values())


def test_hit_rates_by_day_equal_the_per_day_filter(history, lined):
    batch = X.line_hit_rates_by_day(history, lined)
    for day in _days(lined):
        lines = lined.filter(pl.col("_day") == day).select("player_id", "points_line")
        expected = _hit_rates_one_day(history, day, lines)
        got = {pid: batch[(day, pid)] for pid in lines["player_id"].to_list() if (day, pid) in batch}
        assert got == expected, day
    assert any(v["season"]["games"] > 20 for v in batch.values())


def test_defense_ranks_by_day_equal_the_per_day_filter(history, lined):
    days = _days(lined)
    batch = X.defense_ranks_by_day(history, days)
    for day in days:
        assert batch.get(day, {}) == _defense_one_day(history, day), day
    assert any(len(v) == 30 for v in batch.values())


def test_a_day_does_not_depend_on_the_days_computed_with_it(history, lined):
    """One day alone, or in a block with every other day: the same values (and none of a later day)."""
    days = _days(lined)
    together = X.last_games_by_day(history, lined.select("_day", "player_id"))
    rates = X.line_hit_rates_by_day(history, lined)
    defense = X.defense_ranks_by_day(history, days)
    for day in days[:: max(1, len(days) // 12)]:
        one = lined.filter(pl.col("_day") == day)
        alone = X.last_games_by_day(history, one.select("_day", "player_id"))
        assert alone == {k: v for k, v in together.items() if k[0] == day}
        assert all(g["game_date"] < day.isoformat() for games in alone.values() for g in games)
        assert X.line_hit_rates_by_day(history, one) == {k: v for k, v in rates.items() if k[0] == day}
        assert X.defense_ranks_by_day(history, [day]).get(day, {}) == defense.get(day, {})


def test_clean_list_is_clean_of_every_value(points_lines, box_scores):
    """The column-wise ``_clean`` (rounding each distinct value once) against ``_clean`` per value:
    real lines and points per minute, and the values a float column can hold besides numbers."""
    per_minute = box_scores.filter(pl.col("minutes") > 0).select(pl.col("pts") / pl.col("minutes"))["pts"]
    specials = pl.Series([None, float("nan"), 0.0, -0.0, -0.0004, 0.0005, 1e-12, -1e-12, math.inf, -math.inf])
    for series in (points_lines["line"], per_minute, pl.concat([points_lines["line"], specials]), specials):
        got = X._clean_list(series)
        expected = [X._clean(v) for v in series.to_list()]
        assert [repr(v) for v in got] == [repr(v) for v in expected]
    days = box_scores["game_date"].head(100)
    assert X._clean_list(days) == [X._clean(v) for v in days.to_list()]
