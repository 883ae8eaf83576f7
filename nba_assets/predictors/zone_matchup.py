"""``zone_matchup_v1``: the player's season average adjusted for tonight's matchup.

predicted = base × shares × pace × venue × rest, the product clipped to [0.8, 1.25]:

- base: ``pts_avg_season`` (``pts_avg_l10`` before the player's 5th game of the season);
- shares: Σ_k share_k · (league_k + opp_allowed_k_vs_league) / league_k over k ∈ {2PT, 3PT, FT}:
  the player's share of points from kind k (last 10 games) times how much more (or less) of
  kind k the opponent allows than the league (``opp_allowed_share_k_vs_league``, a difference in
  share); league_k is the league's share of kind k over the 365 days before D;
- pace: expected game pace (mean of ``team_pace`` and ``opp_pace``) over the team's own pace;
- venue: the league's points per player game at home (or away) over its mean, before D;
- rest: the league's points per player game on a back-to-back (or not) over its mean, before D.

A factor whose inputs are missing is 1 (no adjustment); the asset reports which features the
feature store lacked.
"""

from __future__ import annotations

import polars as pl

SYSTEM_ID = "zone_matchup_v1"
KINDS = ("two", "three", "ft")
USES = [
    "pts_avg_season",
    "pts_avg_l10",
    "games_played_season",
    *[f"pts_share_{k}" for k in KINDS],
    *[f"opp_allowed_share_{k}_vs_league" for k in KINDS],
    "team_pace",
    "opp_pace",
    "is_home",
    "is_back_to_back",
]
CLIP = (0.8, 1.25)


def _col(frame: pl.DataFrame, name: str, dtype=pl.Float64) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype)


def missing_features(features: pl.DataFrame) -> list[str]:
    return [c for c in USES if c not in features.columns]


def predict(features: pl.DataFrame, context: pl.DataFrame) -> pl.DataFrame:
    """features: ml_feature_store rows; context: ``league_context`` for their dates.

    Returns game_date, game_id, player_id, predicted_points, sample_size (games this season).
    """
    f = features.join(context, on="game_date", how="left")
    base = (
        pl.when(_col(f, "games_played_season") >= 5)
        .then(_col(f, "pts_avg_season"))
        .otherwise(pl.coalesce(_col(f, "pts_avg_l10"), _col(f, "pts_avg_season")))
    )
    share_terms = []
    for k in KINDS:
        league = pl.col(f"league_share_{k}")
        # times 1/league, not divided by league: on a one-date frame the joined context column is a
        # broadcast scalar, and polars divides a column by a scalar as a product with its
        # reciprocal, so a division would differ (by an ulp) between a day computed alone and the
        # same day in a range run. The product rounds the same either way: bit for bit.
        allowed = (league + _col(f, f"opp_allowed_share_{k}_vs_league")) * (1.0 / league)
        share_terms.append(_col(f, f"pts_share_{k}") * allowed)
    share_weight = pl.sum_horizontal([_col(f, f"pts_share_{k}") for k in KINDS])
    shares = pl.when(share_weight > 0).then(pl.sum_horizontal(share_terms) / share_weight).otherwise(None)
    pace = (_col(f, "team_pace") + _col(f, "opp_pace")) / 2.0 / _col(f, "team_pace")
    is_home = _col(f, "is_home", pl.Boolean)
    venue = pl.when(is_home).then(pl.col("league_home_ratio")).otherwise(pl.col("league_away_ratio"))
    b2b = _col(f, "is_back_to_back", pl.Boolean)
    rest = pl.when(b2b).then(pl.col("league_b2b_ratio")).otherwise(pl.col("league_rested_ratio"))
    factor = (shares.fill_nan(None).fill_null(1.0) * pace.fill_nan(None).fill_null(1.0)).clip(*CLIP)
    factor = (factor * venue.fill_null(1.0) * rest.fill_null(1.0)).clip(*CLIP)
    return f.select(
        "game_date",
        "game_id",
        "player_id",
        (base * factor).alias("predicted_points"),
        _col(f, "games_played_season", pl.Int64).alias("sample_size"),
    )
