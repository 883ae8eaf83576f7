"""Features for game date D use only what was known before D — proven on real data."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from nba_assets.transforms.features import expected_players, feature_store
from nba_assets.transforms.lines import consensus_lines

from .conftest import empty_props, schedule_from_box_scores

SAMPLE_DATES = [date(2021, 11, 20), date(2022, 1, 15), date(2023, 3, 1), date(2023, 10, 24), date(2024, 11, 1)]


def _no_lines() -> pl.DataFrame:
    return consensus_lines(empty_props())


@pytest.mark.parametrize("day", SAMPLE_DATES, ids=str)
def test_features_ignore_everything_dated_d_or_later(day, box_scores, summary_history):
    schedule = schedule_from_box_scores(box_scores.filter(pl.col("game_date") == day))
    baseline = feature_store(schedule, summary_history, _no_lines())
    assert baseline.height > 0

    # Perturb every row dated D or later, and delete half of them: nothing may change.
    later = pl.col("game_date") >= day
    perturbed = summary_history.with_columns(
        pl.when(later).then(pl.col("pts") * 3 + 7).otherwise(pl.col("pts")).alias("pts"),
        pl.when(later).then(pl.col("minutes") + 11).otherwise(pl.col("minutes")).alias("minutes"),
        pl.when(later).then(pl.col("opp_pts") + 40).otherwise(pl.col("opp_pts")).alias("opp_pts"),
        pl.when(later).then(pl.lit("SAS")).otherwise(pl.col("team")).alias("team"),
    ).filter(~later | (pl.col("player_id") % 2 == 0))
    assert perturbed.filter(later).height > 0
    assert feature_store(schedule, perturbed, _no_lines()).equals(baseline)
    # ... and equals the features computed with no row from D on at all.
    assert feature_store(schedule, summary_history.filter(~later), _no_lines()).equals(baseline)


def test_expected_players_come_from_before_d(box_scores, summary_history):
    first, last = date(2024, 11, 1), date(2024, 11, 30)
    month = box_scores.filter(pl.col("game_date").is_between(first, last))
    schedule = schedule_from_box_scores(month)
    players = expected_players(schedule, summary_history, _no_lines())
    assert (
        players.group_by("game_date", "game_id").agg(pl.col("team").n_unique())["team"].to_list()
        == [2] * schedule.height
    )
    played = month.select("game_date", "player_id")
    hits = players.join(played, on=["game_date", "player_id"]).height
    # Most of each night's players are predicted from rosters alone; not all (injuries, DNPs).
    assert hits / played.height > 0.9, (hits, played.height)
    assert hits / players.height > 0.7, (hits, players.height)


def test_rest_and_averages_on_a_known_case(box_scores, summary_history):
    """Checked by hand against the box scores: the features are plain history before D."""
    day = date(2024, 11, 1)
    schedule = schedule_from_box_scores(box_scores.filter(pl.col("game_date") == day))
    features = feature_store(schedule, summary_history, _no_lines())
    some = features.filter(pl.col("games_played_season") >= 5).row(0, named=True)
    past = summary_history.filter((pl.col("player_id") == some["player_id"]) & (pl.col("game_date") < day)).sort(
        "game_date"
    )
    assert some["pts_avg_l5"] == pytest.approx(past["pts"].tail(5).mean())
    assert some["pts_avg_l10"] == pytest.approx(past["pts"].tail(10).mean())
    season = past.filter(pl.col("season") == some["season"])
    assert some["pts_avg_season"] == pytest.approx(season["pts"].mean())
    assert some["games_played_season"] == season.height
    assert some["days_rest"] == (day - past["game_date"].max()).days - 1
