"""player_lookup normalization and name -> nba.com id resolution, on real names."""

from __future__ import annotations

import polars as pl
import pytest

from nba_assets.identity import canonical_lookup, resolve_player_ids
from nba_assets.lookup import player_lookup


@pytest.mark.parametrize(
    ("name", "lookup"),
    [
        ("Luka Dončić", "lukadoncic"),
        ("Nikola Jokić", "nikolajokic"),
        ("Jaren Jackson Jr.", "jarenjackson"),
        ("Gary Payton II", "garypayton"),
        ("Shai Gilgeous-Alexander", "shaigilgeousalexander"),
        ("De'Aaron Fox", "deaaronfox"),
        ("B.J. Boston Jr", "bjboston"),
        ("Ｌｅｂｒｏｎ  James", "lebronjames"),  # full-width letters fold under NFKC
        ("Kristaps Porziņģis", "kristapsporzingis"),
    ],
)
def test_player_lookup(name, lookup):
    assert player_lookup(name) == lookup


def test_every_box_score_name_resolves_to_its_nba_id(box_scores):
    """The reference list alone maps every real box-score name to the right nba.com id."""
    players = box_scores.select("player_id", "player_name").unique()
    resolved = resolve_player_ids(canonical_lookup(players.rename({"player_id": "expected"}), "player_name"))
    wrong = resolved.filter(pl.col("player_id").is_null() | (pl.col("player_id") != pl.col("expected")))
    assert wrong.height == 0, wrong.head(10)


def test_every_book_quoted_name_resolves(points_lines):
    """Names as PrizePicks/Underdog wrote them (aliases included) resolve to the matched ids."""
    quoted = points_lines.select("player_name_quoted", pl.col("player_id").alias("expected")).unique()
    resolved = resolve_player_ids(canonical_lookup(quoted, "player_name_quoted"))
    wrong = resolved.filter(pl.col("player_id").is_null() | (pl.col("player_id") != pl.col("expected")))
    assert wrong.height == 0, wrong.head(10)
