"""Who is who: sportsbook and balldontlie names matched to nba.com player ids.

Book-quoted names (``match_quoted_names``), in order:
1. exact: the name's ``player_lookup`` among the recent rosters, then the nba.com reference list
   (``reference/players.csv``; where two players share a lookup, the active and most recent one);
2. aliases: names books spell differently (``reference/player_aliases.csv``), looked up the same way;
3. fuzzy: the closest lookup among the players of the game's two teams only (latest team before
   the game date), accepted at a similarity of at least ``FUZZY_MIN_RATIO`` and a clear margin.
Names still unmatched keep a null ``player_id`` and are listed by ``nba_raw/unresolved_player_names``.

``canonical_lookup`` + ``resolve_player_ids`` are the vectorized exact + alias path used for
box-score names.
"""

from __future__ import annotations

import difflib
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


FUZZY_MIN_RATIO = 0.85
FUZZY_MARGIN = 0.05


def fuzzy_pick(lookup: str, candidates: dict[str, int]) -> str | None:
    """The candidate lookup closest to ``lookup`` when it is close enough and clearly the closest."""
    scored = sorted(
        ((difflib.SequenceMatcher(None, lookup, c).ratio(), c) for c in candidates),
        reverse=True,
    )
    if not scored or scored[0][0] < FUZZY_MIN_RATIO:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < FUZZY_MARGIN:
        return None
    return scored[0][1]


def match_quoted_names(names: pl.DataFrame, rosters: pl.DataFrame) -> pl.DataFrame:
    """Matches distinct quoted names to nba.com ids: exact, then aliases, then fuzzy within the game.

    ``names``: columns ``name``, ``home``, ``away`` (team tricodes of the game; may be null).
    ``rosters``: ``player_lookup``, ``player_id``, ``team`` ordered by date (the latest row of a
    player gives his current team). Returns ``names`` with ``player_lookup`` (the matched player's
    lookup, else the name's own), ``player_id`` (null when unmatched), ``team`` (the player's team
    when it is one of the game's) and ``match_method`` (exact / alias / fuzzy / null).
    """
    latest = rosters.filter(pl.col("player_id").is_not_null()).unique("player_lookup", keep="last", maintain_order=True)
    roster_ids = dict(latest.select("player_lookup", "player_id").iter_rows())
    roster_team = dict(latest.select("player_lookup", "team").iter_rows())
    by_team: dict[str, dict[str, int]] = {}
    for lookup, player_id, team in latest.select("player_lookup", "player_id", "team").iter_rows():
        by_team.setdefault(team, {})[lookup] = player_id
    reference = dict(reference_players().iter_rows())
    aliases = alias_map()

    def known(lookup: str | None) -> int | None:
        if lookup is None:
            return None
        return roster_ids.get(lookup) or reference.get(lookup)

    rows = []
    for name, home, away in names.select("name", "home", "away").iter_rows():
        lookup = player_lookup(name)
        method, matched, player_id = None, lookup, None
        if (player_id := known(lookup)) is not None:
            method = "exact"
        elif lookup in aliases and (player_id := known(aliases[lookup])) is not None:
            method, matched = "alias", aliases[lookup]
        elif lookup is not None:
            pool = {**by_team.get(home or "", {}), **by_team.get(away or "", {})}
            pick = fuzzy_pick(lookup, pool)
            if pick is not None:
                method, matched, player_id = "fuzzy", pick, pool[pick]
        team = roster_team.get(matched) if player_id is not None else None
        rows.append(
            {
                "name": name,
                "home": home,
                "away": away,
                "player_lookup": matched,
                "player_id": player_id,
                "team": team if team in (home, away) else None,
                "match_method": method,
            }
        )
    schema = {
        "name": pl.String,
        "home": pl.String,
        "away": pl.String,
        "player_lookup": pl.String,
        "player_id": pl.Int64,
        "team": pl.String,
        "match_method": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
