"""Book-quoted names -> nba.com ids: exact, then aliases, then a fuzzy match within the game's two teams.

Inputs are real rows of ``data/``: rosters from the real box scores, names as PrizePicks/Underdog
quoted them. Misspellings are made by editing one real name, the way books' typos look.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from nba_assets.identity import canonical_lookup, match_quoted_names
from nba_assets.transforms.raw import unresolved_names

from .conftest import BOX_SCORES, LINES, empty_props, raw_box_from_box_scores

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

DAY = date(2024, 11, 15)


@pytest.fixture(scope="module")
def rosters(box_scores: pl.DataFrame) -> pl.DataFrame:
    """Every player's games before DAY, in date order (what the props asset passes)."""
    before = box_scores.filter(pl.col("game_date") < DAY).sort("game_date")
    return canonical_lookup(before, "player_name").select("player_lookup", "player_id", "team")


@pytest.fixture(scope="module")
def day_lines(points_lines: pl.DataFrame) -> pl.DataFrame:
    return points_lines.filter(pl.col("game_date") == DAY)


def _names(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.select(
        pl.col("player_name_quoted").alias("name"), pl.col("home_team").alias("home"), pl.col("away_team").alias("away")
    ).unique(maintain_order=True)


def test_every_quoted_name_of_a_day_resolves_exactly_or_by_alias(rosters, day_lines) -> None:
    matched = match_quoted_names(_names(day_lines), rosters)
    expected = day_lines.select(pl.col("player_name_quoted").alias("name"), pl.col("player_id").alias("expected"))
    joined = matched.join(expected.unique(), on="name")
    assert joined.height == matched.height > 50
    assert (joined["player_id"] == joined["expected"]).all()
    assert set(matched["match_method"].unique()) <= {"exact", "alias"}
    # A player's team is one of his game's teams.
    assert ((matched["team"] == matched["home"]) | (matched["team"] == matched["away"])).all()


def test_aliases_come_after_the_exact_lookup(rosters, points_lines) -> None:
    row = points_lines.filter(pl.col("player_name_quoted") == "Moe Wagner").row(0, named=True)
    names = pl.DataFrame({"name": ["Moe Wagner"], "home": [row["home_team"]], "away": [row["away_team"]]})
    (match,) = match_quoted_names(names, rosters).iter_rows(named=True)
    assert match["match_method"] == "alias" and match["player_id"] == row["player_id"]
    assert match["player_lookup"] == "moritzwagner"


def test_a_misspelled_name_matches_fuzzily_only_within_the_two_teams(rosters, day_lines) -> None:
    row = (
        day_lines.filter(pl.col("player_name_quoted").str.len_chars() > 12)
        .sort("player_name_quoted")
        .row(0, named=True)
    )
    name = row["player_name_quoted"]
    typo = name[:3] + name[4] + name[3] + name[5:]  # two letters swapped
    game = {"home": [row["home_team"]], "away": [row["away_team"]]}
    (match,) = match_quoted_names(pl.DataFrame({"name": [typo], **game}), rosters).iter_rows(named=True)
    assert match["match_method"] == "fuzzy", (typo, match)
    assert match["player_id"] == row["player_id"] and match["team"] == row["team"]

    # The same typo quoted for a game of two other teams stays unresolved.
    other = day_lines.filter(~pl.col("home_team").is_in([row["home_team"], row["away_team"]])).row(0, named=True)
    if other["away_team"] in (row["home_team"], row["away_team"]):
        pytest.skip("no game of two other teams that day")
    elsewhere = pl.DataFrame({"name": [typo], "home": [other["home_team"]], "away": [other["away_team"]]})
    (miss,) = match_quoted_names(elsewhere, rosters).iter_rows(named=True)
    assert miss["player_id"] is None and miss["match_method"] is None

    # A name written last-name-first is too far for the fuzzy step: it becomes an unresolved name.
    first, _, last = name.partition(" ")
    reversed_name = f"{last} {first}"
    (unmatched,) = match_quoted_names(pl.DataFrame({"name": [reversed_name], **game}), rosters).iter_rows(named=True)
    assert unmatched["player_id"] is None


def test_unresolved_names_count_rows_per_day_source_and_name(box_scores) -> None:
    box = raw_box_from_box_scores(box_scores.filter(pl.col("game_date") == DAY))
    unknown = box.head(2).with_columns(pl.lit(None, pl.Int64).alias("player_id"))
    frame = unresolved_names(empty_props(), pl.concat([box, unknown]))
    assert frame.columns == ["game_date", "source", "player_name", "player_lookup", "count"]
    assert frame.height == 2 and set(frame["source"]) == {"balldontlie"} and frame["count"].to_list() == [1, 1]
    assert unresolved_names(empty_props(), box).height == 0
