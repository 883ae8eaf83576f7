"""The code location: every asset of the lake, its IO manager and the API resource."""

from __future__ import annotations

import dagster as dg

from nba_assets import config
from nba_assets.assets import analytics, exports, grading, ingest, models, precompute, predictions, raw
from nba_assets.io.manager import LakehouseIOManager
from nba_assets.io.model_store import ModelStoreIOManager
from nba_assets.resources import apis_from_env

ASSET_MODULES = [ingest, raw, analytics, precompute, models, predictions, grading, exports]


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        resources={
            "io_manager": LakehouseIOManager(lake_dir=str(config.lake_dir())),
            "model_store": ModelStoreIOManager(lake_dir=str(config.lake_dir())),
            "apis": apis_from_env(),
        },
        # Steps of one run share a process: ~3 s less per step than the multiprocess executor here.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
