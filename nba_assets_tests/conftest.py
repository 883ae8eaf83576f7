from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from nba_assets.real_data import raw_box_from_box_scores, schedule_from_box_scores  # noqa: F401  (the tests' helpers)

REPO = Path(__file__).resolve().parent.parent

# Dagster's own switches, as the Makefile exports them for every target (``make test`` included):
# a step's partition events go to the event log as one batch, a ranged run's planned events as one
# subset per asset. A bare ``pytest`` gets the same.
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
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


def empty_props() -> pl.DataFrame:
    from nba_assets.schemas import schema_for

    return pl.DataFrame(schema=schema_for("nba_raw", "odds_api_player_points_props"))


@pytest.fixture(scope="session")
def summary_history(box_scores) -> pl.DataFrame:
    """player_game_summary for every real game, built by the project's own transform."""
    from nba_assets.transforms.analytics import player_game_summary

    return player_game_summary(raw_box_from_box_scores(box_scores), schedule_from_box_scores(box_scores), empty_props())


# The longest test files first: `make test` spreads files over two workers (pytest-xdist, one
# worker per file, `--no-loadscope-reorder` so that this order is kept: xdist would otherwise put
# the files with most tests first and the one-test daemon game day last), so the game day and the
# browser on the Dagster UI run beside the rest rather than after it.
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


def lake_settings(lake_dir, **overrides):
    """The code location's settings for a test lake: the project's defaults, ``lake_dir`` and
    ``overrides`` (tests configure the definitions, not the project's environment variables)."""
    from nba_assets.config import Settings

    return Settings(lake_dir=str(lake_dir), **overrides)


def local_lake(lake_dir, **config):
    """The ``Lake`` resource on a local test lake (Parquet tables, local objects)."""
    from nba_assets.lake import Lake

    return Lake(lake_dir=str(lake_dir), **config)


def lake_resources(lake_dir, **config) -> dict:
    """The resources of a test run on ``lake_dir``: the lake, both IO managers on it, the raw checks' defaults."""
    from nba_assets.io.manager import LakehouseIOManager, ModelStoreIOManager
    from nba_assets.resources import RawCheckThresholds

    lake = local_lake(lake_dir, **config)
    return {
        "lake": lake,
        "io_manager": LakehouseIOManager(lake=lake),
        "model_store": ModelStoreIOManager(lake=lake),
        "raw_checks": RawCheckThresholds(),
    }


def lake_from_env():
    """The ``Lake`` as the process environment configures the code location (for the backend
    suites that pick local or BigQuery through ``NBA_BACKEND`` and its settings)."""
    from nba_assets.config import settings_from_env
    from nba_assets.lake import Lake

    return Lake(**settings_from_env().lake_config())


# The real browser of the page tests: Debian's chromium, headless, driven by Playwright (never
# ``playwright install``). Screenshots of every page go to .screenshots/ (git ignores it).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = REPO / ".screenshots"


def no_browser(reason: str) -> None:
    """Skip a page test without a browser; on CI fail it (``.ci/run`` installs chromium)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI: the browser tests must run; .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        no_browser("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        no_browser(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
