"""Who is who: sportsbook and balldontlie names matched to nba.com player ids.

Order of resolution: aliases (names books spell differently), then an exact ``player_lookup``
among the candidates given (e.g. the two teams' recent rosters), then the nba.com reference list
(``reference/players.csv``; where two players share a lookup, the active and most recent one).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from nba_assets.lookup import player_lookup, player_lookup_expr

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


@cache
def alias_map() -> dict[str, str]:
    frame = pl.read_csv(REFERENCE_DIR / "player_aliases.csv")
    return {player_lookup(a): player_lookup(c) for a, c in frame.iter_rows()}


@cache
def reference_players() -> pl.DataFrame:
    """player_lookup -> player_id, one row per lookup."""
    return (
        pl.read_csv(REFERENCE_DIR / "players.csv")
        .with_columns(player_lookup_expr("full_name").alias("player_lookup"))
        .sort(["is_active", "player_id"], descending=True)
        .unique("player_lookup", keep="first", maintain_order=True)
        .select("player_lookup", "player_id")
    )


@cache
def bdl_teams() -> pl.DataFrame:
    return pl.read_csv(REFERENCE_DIR / "bdl_teams.csv")


@cache
def nba_teams() -> pl.DataFrame:
    return pl.read_csv(REFERENCE_DIR / "teams.csv").select("team_id", "abbreviation", "full_name")


def canonical_lookup(frame: pl.DataFrame, name_column: str) -> pl.DataFrame:
    """Adds ``player_lookup`` (normalized, aliases applied)."""
    aliases = alias_map()
    return frame.with_columns(player_lookup_expr(name_column).replace(aliases).alias("player_lookup"))


def resolve_player_ids(frame: pl.DataFrame, candidates: pl.DataFrame | None = None) -> pl.DataFrame:
    """Fills ``player_id`` from ``player_lookup``: candidates first (columns player_lookup,
    player_id, and optionally team to match on), then the reference list."""
    out = frame
    if candidates is not None and candidates.height:
        keys = (
            ["player_lookup", "team"] if "team" in candidates.columns and "team" in frame.columns else ["player_lookup"]
        )
        cand = candidates.select(*keys, pl.col("player_id").alias("_cand_id")).unique(keys, keep="last")
        out = out.join(cand, on=keys, how="left")
        if keys != ["player_lookup"]:  # then the same name on any team among the candidates
            anyteam = candidates.select("player_lookup", pl.col("player_id").alias("_any_id")).unique(
                "player_lookup", keep="last"
            )
            out = (
                out.join(anyteam, on="player_lookup", how="left")
                .with_columns(pl.coalesce("_cand_id", "_any_id").alias("_cand_id"))
                .drop("_any_id")
            )
    else:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("_cand_id"))
    ref = reference_players().rename({"player_id": "_ref_id"})
    out = out.join(ref, on="player_lookup", how="left")
    base = [pl.col("player_id")] if "player_id" in frame.columns else []
    return out.with_columns(pl.coalesce(*base, "_cand_id", "_ref_id").cast(pl.Int64).alias("player_id")).drop(
        "_cand_id", "_ref_id"
    )
