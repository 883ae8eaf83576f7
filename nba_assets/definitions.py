"""The code location, wired in one place.

1. ``config.settings_from_env()`` reads the project's settings, once (tests pass their own
   ``Settings``);
2. ``dg.load_from_defs_folder`` loads every domain's assets from ``nba_assets/defs/<domain>/``
   (``dg scaffold defs`` adds files there);
3. the resources, configured from the settings: ``lake`` (tables, models, landing, exports,
   reports), the two IO managers nested on it, ``apis`` (landing through the lake), ``clock``,
   ``raw_checks``;
4. one pass over the graph: each phase's automation condition on the definitions' clock and the
   lake's store, freshness where deadlines are judged, and the kinds policy
   (``Definitions.map_resolved_asset_specs``);
5. the sensors and checks that need the graph or the store: the automation sensors per phase, the
   edge triggers, the deadline checks and their sensor, the alerts.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import warnings
from pathlib import Path

import dagster as dg

from nba_assets import automation, checks, live_sensor, sensors
from nba_assets.clock import Clock
from nba_assets.config import PROJECT_ROOT, Settings, settings_from_env
from nba_assets.io.manager import LakehouseIOManager, ModelStoreIOManager
from nba_assets.lake import Lake
from nba_assets.resources import RawCheckThresholds, apis_for

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


def with_policy(defs: dg.Definitions, backend: str) -> dg.Definitions:
    """The per-spec policy, applied to every asset spec in one place: kinds."""
    with warnings.catch_warnings():  # map_resolved_asset_specs is a "preview" API in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(
            func=lambda spec: spec.merge_attributes(kinds=kinds_for(spec, backend) - set(spec.kinds))
        )


def resources_for(settings: Settings, clock: Clock) -> dict[str, dg.ConfigurableResource]:
    """Every resource of the code location, from the settings (one ``Lake`` shared by all)."""
    lake = Lake(**settings.lake_config())
    return {
        "lake": lake,
        "io_manager": LakehouseIOManager(lake=lake),
        "model_store": ModelStoreIOManager(lake=lake),
        "apis": apis_for(settings, lake, clock),
        "clock": clock,
        "raw_checks": RawCheckThresholds(
            unresolved_names_per_day=settings.unresolved_names_warn_threshold,
            unmatched_odds_rows_per_day=settings.unmatched_odds_warn_threshold,
        ),
    }


def domain_definitions(project: Path = PROJECT_ROOT, component_catalog: bool = True) -> dg.Definitions:
    """Every domain's assets, from ``nba_assets/defs/`` (the ``[tool.dg]`` project's defs module).

    ``component_catalog`` (``Settings.component_catalog``): ``dg.load_from_defs_folder`` builds the
    defs folder and adds the catalog of every component type installed (entry points: dagster's
    own and dagster_gcp's, which imports BigQuery, GCS and pandas) for the UI. Without it, the same
    ``ComponentTree`` builds the defs folder alone: the same assets, checks and jobs, no catalog,
    no UI-managed components (the project has none)."""
    if component_catalog:
        return dg.load_from_defs_folder(path_within_project=project)
    tree = dg.ComponentTree.for_project(path_within_project=project)
    with warnings.catch_warnings():  # load_from_defs_folder silences the same "preview" loaders
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return tree.build_defs(tree.defs_module_path)


def serves_the_ui() -> bool:
    """Whether this process may serve the code location to the UI: not a run worker. A code server
    starts each run in a process of its own (``multiprocessing``, spawned), which loads this module
    again to execute the run and answers no UI request: it builds no component catalog (~1.2 s of
    each daemon or UI run's start)."""
    return multiprocessing.parent_process() is None


def build_definitions(clock: Clock | None = None, settings: Settings | None = None) -> dg.Definitions:
    """The code location. ``settings``: default, the environment's (``config.settings_from_env``);
    ``clock``: the one clock (default: the settings' ``clock_file``, a replayed clock's state
    file, else the wall clock)."""
    settings = settings or settings_from_env()
    clock = clock or Clock(state_file=settings.clock_file)
    resources = resources_for(settings, clock)
    lake: Lake = resources["lake"]
    store = lake.tables  # the pre-tip condition reads the schedule where it is stored (conditions take no resources)
    edge_status = sensors.edge_default_status(
        replayed_clock=clock.replayed, edge_sensors=settings.edge_sensors, replaying=bool(settings.replay_dir)
    )
    # Deadlines only where the edge fetches today's data (the real services, a replayed clock, or a
    # replay with NBA_EDGE_SENSORS=on): after ``make demo`` on an archive that ends 2024-12-15, a
    # deadline judged against 2026 would be red where nothing is wrong.
    live = edge_status == dg.DefaultSensorStatus.RUNNING
    deadline = automation.deadline_et(settings.predictions_deadline_et)
    core = automation.apply_automation(
        dg.Definitions.merge(
            domain_definitions(component_catalog=settings.component_catalog and serves_the_ui()),
            # Steps of one run share a process: ~3 s less per step than the multiprocess executor here.
            dg.Definitions(resources=resources, executor=dg.in_process_executor),
        ),
        # the UI's FreshnessPolicy is Dagster's and knows only the wall clock
        wall_clock_deadlines=live and not clock.replayed,
        deadline=deadline,
        clock=clock,
        store=store,
    )
    core = with_policy(core, lake.backend_name)
    graph_keys = core.resolve_asset_graph().get_all_asset_keys()
    deadline_checks = checks.build_deadline_checks(graph_keys, deadline) if live else []
    edge_interval = clock.sensor_interval(sensors.EDGE_SENSOR_INTERVAL)
    return dg.Definitions.merge(
        core,
        dg.Definitions(
            asset_checks=deadline_checks,
            sensors=[
                *sensors.build_automation_sensors(
                    core,
                    interval=clock.sensor_interval(30),
                    per_phase=settings.automation_sensors != "one",
                ),
                *sensors.build_edge_triggers(interval=edge_interval, status=edge_status, **settings.snapshot_plan()),
                *checks.build_freshness_sensor(
                    deadline_checks, status=edge_status, interval=clock.sensor_interval(300), deadline=deadline
                ),
                *sensors.build_alert_sensors(dagster_url=settings.dagster_url),
                *live_sensor.build_live_sensors(
                    interval=clock.sensor_interval(live_sensor.LIVE_INTERVAL),
                    status=live_sensor.live_default_status(edge_status, clock.replayed, settings.live_sensor),
                ),
            ],
        ),
    )


def keep_out_of_the_cyclic_gc() -> None:
    """The code location's objects (Dagster, the libraries, the definitions: ~290k tracked objects)
    live as long as the process: ``gc.freeze`` moves them out of the cyclic collector's sight, so a
    full collection during a run walks only what the run made (a one-day run: ~1.6 -> ~0.6 s of
    collections), and ``gc.freeze`` again at exit spares the interpreter's last collections over
    everything (~1.5 s after ``dg launch``'s run succeeded). Objects are still freed by reference
    counting; only cycles among them are never collected."""
    gc.freeze()
    atexit.register(gc.freeze)


defs = build_definitions()
keep_out_of_the_cyclic_gc()
