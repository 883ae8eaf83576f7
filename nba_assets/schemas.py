"""Declared schema of every lake table, keyed by (dataset, table).

The IO manager conforms every output to its schema (a missing, undeclared or uncastable column is
an error naming the table and the column), reads windows in it (so an empty window still has
every column), and the asset definitions publish it as ``dagster/column_schema``. The BigQuery
DDL in ``sql/`` is checked against the same registry.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

UTC = pl.Datetime("us", "UTC")

TABLES: dict[tuple[str, str], pl.Schema] = {
    ("nba_raw", "nbac_schedule"): pl.Schema(
        {
            "game_date": pl.Date,
            "game_id": pl.String,
            "season": pl.String,
            "tipoff_utc": UTC,
            "home_team": pl.String,
            "away_team": pl.String,
            "home_team_id": pl.Int64,
            "away_team_id": pl.Int64,
            "game_status": pl.Int64,
            "home_score": pl.Int64,
            "away_score": pl.Int64,
            "postponed": pl.Boolean,
        }
    ),
    ("nba_raw", "bdl_player_boxscores"): pl.Schema(
        {
            "game_date": pl.Date,
            "game_id": pl.String,
            "bdl_game_id": pl.Int64,
            "bdl_player_id": pl.Int64,
            "player_id": pl.Int64,
            "player_name": pl.String,
            "player_lookup": pl.String,
            "team": pl.String,
            "opponent": pl.String,
            "home_away": pl.String,
            "minutes": pl.Int64,
            "pts": pl.Int64,
            "reb": pl.Int64,
            "oreb": pl.Int64,
            "dreb": pl.Int64,
            "ast": pl.Int64,
            "stl": pl.Int64,
            "blk": pl.Int64,
            "tov": pl.Int64,
            "pf": pl.Int64,
            "fgm": pl.Int64,
            "fga": pl.Int64,
            "fg3m": pl.Int64,
            "fg3a": pl.Int64,
            "ftm": pl.Int64,
            "fta": pl.Int64,
        }
    ),
    ("nba_raw", "odds_api_player_points_props"): pl.Schema(
        {
            "game_date": pl.Date,
            "event_id": pl.String,
            "game_id": pl.String,
            "commence_utc": UTC,
            "snapshot_utc": UTC,
            "minutes_before_tipoff": pl.Float64,
            "region": pl.String,
            "bookmaker": pl.String,
            "player_name_quoted": pl.String,
            "player_lookup": pl.String,
            "player_id": pl.Int64,
            "team": pl.String,
            "line": pl.Float64,
            "over_price": pl.Int64,
            "under_price": pl.Int64,
        }
    ),
    ("nba_analytics", "player_game_summary"): pl.Schema(
        {
            "game_date": pl.Date,
            "game_id": pl.String,
            "season": pl.String,
            "player_id": pl.Int64,
            "player_name": pl.String,
            "player_lookup": pl.String,
            "team": pl.String,
            "opponent": pl.String,
            "home_away": pl.String,
            "team_won": pl.Boolean,
            "minutes": pl.Int64,
            "pts": pl.Int64,
            "reb": pl.Int64,
            "ast": pl.Int64,
            "stl": pl.Int64,
            "blk": pl.Int64,
            "tov": pl.Int64,
            "fgm": pl.Int64,
            "fga": pl.Int64,
            "fg3m": pl.Int64,
            "fg3a": pl.Int64,
            "ftm": pl.Int64,
            "fta": pl.Int64,
            "ts_pct": pl.Float64,
            "efg_pct": pl.Float64,
            "usage_rate": pl.Float64,
            "team_pts": pl.Int64,
            "opp_pts": pl.Int64,
            "points_line": pl.Float64,
            "line_result": pl.String,
        }
    ),
    ("nba_precompute", "ml_feature_store"): pl.Schema(
        {
            "game_date": pl.Date,
            "game_id": pl.String,
            "player_id": pl.Int64,
            "player_lookup": pl.String,
            "player_name": pl.String,
            "team": pl.String,
            "opponent": pl.String,
            "season": pl.String,
            "feature_version": pl.String,
            "is_home": pl.Boolean,
            "games_played_season": pl.Int64,
            "pts_avg_l5": pl.Float64,
            "pts_avg_l10": pl.Float64,
            "pts_avg_season": pl.Float64,
            "pts_std_l10": pl.Float64,
            "minutes_avg_l10": pl.Float64,
            "days_rest": pl.Int64,
            "opp_pts_allowed_l10": pl.Float64,
            "has_line": pl.Boolean,
        }
    ),
    ("nba_predictions", "player_prop_predictions"): pl.Schema(
        {
            "game_date": pl.Date,
            "game_id": pl.String,
            "player_id": pl.Int64,
            "player_lookup": pl.String,
            "player_name": pl.String,
            "team": pl.String,
            "opponent": pl.String,
            "system_id": pl.String,
            "predicted_points": pl.Float64,
            "points_line": pl.Float64,
            "line_source": pl.String,
            "edge": pl.Float64,
            "recommendation": pl.String,
            "confidence": pl.Float64,
            "feature_version": pl.String,
            "created_at": UTC,
        }
    ),
    ("nba_predictions", "prediction_accuracy"): pl.Schema(
        {
            "game_date": pl.Date,
            "game_id": pl.String,
            "player_id": pl.Int64,
            "player_lookup": pl.String,
            "system_id": pl.String,
            "predicted_points": pl.Float64,
            "points_line": pl.Float64,
            "recommendation": pl.String,
            "played": pl.Boolean,
            "actual_points": pl.Int64,
            "absolute_error": pl.Float64,
            "signed_error": pl.Float64,
            "line_outcome": pl.String,
            "grade": pl.String,
            "graded_at": UTC,
        }
    ),
}


def schema_for(dataset: str, table: str) -> pl.Schema:
    try:
        return TABLES[(dataset, table)]
    except KeyError:
        raise KeyError(f"no declared schema for table {dataset}.{table}; add it to nba_assets/schemas.py") from None


def column_schema(dataset: str, table: str) -> dg.TableSchema:
    """The declared schema as Dagster ``TableSchema`` metadata (shown in the UI)."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in schema_for(dataset, table).items()]
    )
