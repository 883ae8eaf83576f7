"""The code location: every asset of the lake, its IO manager and the API resource, the edge
triggers, the automation sensors per phase, the freshness checks and the alert sensors."""

from __future__ import annotations

import warnings

import dagster as dg

from nba_assets import automation, checks, config, sensors
from nba_assets.assets import analytics, availability, exports, grading, ingest, models, precompute, predictions, raw
from nba_assets.io.manager import LakehouseIOManager, backend_name
from nba_assets.io.model_store import ModelStoreIOManager
from nba_assets.resources import apis_from_env

ASSET_MODULES = [ingest, raw, analytics, precompute, availability, models, predictions, grading, exports]


MODEL_KINDS = {"points_model_lightgbm": "lightgbm", "points_model_xgboost": "xgboost"}


def kinds_for(spec: dg.AssetSpec, backend: str) -> set[str]:
    """What the UI shows on each asset: the library that computes it and where it is stored."""
    dataset, table = spec.key.path[0], spec.key.path[-1]
    if spec.kinds:
        return set(spec.kinds)
    if dataset == "landing":
        return {"python", "json", "gcs" if backend == "bigquery" else "file"}
    if table in MODEL_KINDS:
        return {MODEL_KINDS[table], "polars"}
    if table == "system_calibration":
        return {"polars", "json"}
    if dataset == "exports":
        return {"polars", "json"}
    return {"polars", "bigquery" if backend == "bigquery" else "parquet"}


def with_kinds(defs: dg.Definitions, backend: str) -> dg.Definitions:
    with warnings.catch_warnings():  # map_asset_specs is a "preview" API in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(
            func=lambda spec: spec.merge_attributes(kinds=kinds_for(spec, backend) - set(spec.kinds))
        )


def build_definitions() -> dg.Definitions:
    io_manager = LakehouseIOManager(lake_dir=str(config.lake_dir()))
    # Sensors and the pre-tip condition read the schedule where the IO manager stores it.
    automation.use_store(io_manager.store)
    assets = dg.load_assets_from_modules(ASSET_MODULES)
    # Deadlines by the wall clock only where the edge fetches today's data (the real services, or a
    # replay with NBA_EDGE_SENSORS=on): after ``make demo`` on an archive that ends 2024-12-15, a
    # freshness check against 2026's clock would be red where nothing is wrong.
    live = sensors.edge_default_status() == dg.DefaultSensorStatus.RUNNING
    core = automation.refine_conditions(
        dg.Definitions(
            assets=assets,
            resources={
                "io_manager": io_manager,
                "model_store": ModelStoreIOManager(lake_dir=str(config.lake_dir())),
                "apis": apis_from_env(),
            },
            # Steps of one run share a process: ~3 s less per step than the multiprocess executor here.
            executor=dg.in_process_executor,
        ),
        wall_clock_deadlines=live,
    )
    core = with_kinds(core, backend_name())
    deadline_checks = checks.build_deadline_checks(core.resolve_asset_graph().get_all_asset_keys()) if live else []
    return dg.Definitions.merge(
        core,
        dg.Definitions(
            asset_checks=deadline_checks,
            sensors=[
                *sensors.build_automation_sensors(core),
                *sensors.build_edge_triggers_sensors(),
                *checks.build_freshness_sensor(deadline_checks),
                *sensors.build_alert_sensors(),
            ],
            schedules=sensors.build_edge_schedules(),
        ),
    )


defs = build_definitions()
