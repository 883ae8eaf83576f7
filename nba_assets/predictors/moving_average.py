"""``moving_average``: 0.5·L5 + 0.3·L10 + 0.2·season points average.

Weights of missing parts (no game yet this season) are redistributed over the parts present.
Its call is the foundation's fixed rule, kept as the baseline: OVER/UNDER when
|predicted − line| > EDGE_THRESHOLD, PASS otherwise, NO_LINE without a line (its P(over) and
confidence are calibrated like every other system's).
"""

from __future__ import annotations

import polars as pl

SYSTEM_ID = "moving_average"
WEIGHTS = {"pts_avg_l5": 0.5, "pts_avg_l10": 0.3, "pts_avg_season": 0.2}
EDGE_THRESHOLD = 2.0


def predict(features: pl.DataFrame) -> pl.DataFrame:
    """game_date, game_id, player_id, predicted_points, sample_size (games this season)."""
    num = sum(pl.col(c).fill_null(0.0) * w for c, w in WEIGHTS.items())
    den = sum(pl.when(pl.col(c).is_not_null()).then(w).otherwise(0.0) for c, w in WEIGHTS.items())
    return features.select(
        "game_date",
        "game_id",
        "player_id",
        pl.when(den > 0).then(num / den).otherwise(None).alias("predicted_points"),
        pl.col("games_played_season").cast(pl.Int64).alias("sample_size"),
    )
