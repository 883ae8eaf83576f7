from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
BOX_SCORES = DATA / "player_box_scores.parquet"
LINES = DATA / "player_points_lines_dfs.parquet"


@pytest.fixture(scope="session")
def box_scores() -> pl.DataFrame:
    """The real nba.com box scores committed in data/ (game_date as a Date)."""
    return pl.read_parquet(BOX_SCORES).with_columns(pl.col("game_date").str.to_date())


@pytest.fixture(scope="session")
def points_lines() -> pl.DataFrame:
    return pl.read_parquet(LINES).with_columns(pl.col("game_date").str.to_date())


def schedule_from_box_scores(box: pl.DataFrame) -> pl.DataFrame:
    """The nbac_schedule rows implied by real box scores (tip-off unknown, every game final)."""
    from nba_assets.identity import nba_teams
    from nba_assets.schemas import schema_for

    ids = nba_teams().select("abbreviation", "team_id")
    games = (
        box.group_by("game_date", "game_id", "season", "home_team", "away_team")
        .agg(
            pl.col("pts").filter(pl.col("home_away") == "H").sum().alias("home_score"),
            pl.col("pts").filter(pl.col("home_away") == "A").sum().alias("away_score"),
        )
        .join(ids.rename({"abbreviation": "home_team", "team_id": "home_team_id"}), on="home_team")
        .join(ids.rename({"abbreviation": "away_team", "team_id": "away_team_id"}), on="away_team")
        .with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("tipoff_utc"),
            pl.lit(3, pl.Int64).alias("game_status"),
            pl.lit(False).alias("postponed"),
        )
    )
    schema = schema_for("nba_raw", "nbac_schedule")
    return games.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id")


def raw_box_from_box_scores(box: pl.DataFrame) -> pl.DataFrame:
    """Real box scores in the nba_raw.bdl_player_boxscores schema (ids already nba.com)."""
    from nba_assets.identity import canonical_lookup
    from nba_assets.schemas import schema_for

    schema = schema_for("nba_raw", "bdl_player_boxscores")
    out = canonical_lookup(box, "player_name").with_columns(
        pl.col("game_id").cast(pl.Int64).alias("bdl_game_id"), pl.col("player_id").alias("bdl_player_id")
    )
    return out.select(schema.names()).cast(dict(schema))


def empty_props() -> pl.DataFrame:
    from nba_assets.schemas import schema_for

    return pl.DataFrame(schema=schema_for("nba_raw", "odds_api_player_points_props"))


@pytest.fixture(scope="session")
def summary_history(box_scores) -> pl.DataFrame:
    """player_game_summary for every real game, built by the project's own transform."""
    from nba_assets.transforms.analytics import player_game_summary

    return player_game_summary(raw_box_from_box_scores(box_scores), schedule_from_box_scores(box_scores), empty_props())


# The longest test files first: `make test` spreads files over two workers (pytest-xdist, one
# worker per file), so the daemon's game day and the browser on the Dagster UI run beside the rest
# rather than after it.
LONGEST_FIRST = (
    "test_gameday.py",
    "test_ui_backfill.py",
    "test_pipeline.py",
    "test_automation.py",
    "test_faults_scenario.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def seed_lake(store, tables: dict, days: list) -> None:
    """Write real upstream tables into a test lake: ``tables`` maps (dataset, table) to rows, each
    stored for every day of ``days`` (a day without rows is an empty partition)."""
    from nba_assets.io.storage import TableRef
    from nba_assets.schemas import schema_for

    for (dataset, table), frame in tables.items():
        frame = frame.filter(pl.col("game_date").is_between(days[0], days[-1]))
        store.write_partitions(TableRef(dataset, table), frame, days, schema_for(dataset, table))
