"""The project's settings, read from the environment once, by the definitions.

``settings_from_env()`` is the only reader of the project's environment variables
(``nba_assets_tests/test_settings.py`` keeps it that way); ``nba_assets.definitions`` calls it and
configures the resources from it (``Lake``, ``NbaApis``, ``Clock``) and the sensors and checks.
Every Make target passes these through, so a user can point the same pipeline at their own lake
and recorded data: ``NBA_REPLAY_DIR=... NBA_LAKE_DIR=... make run START=... END=...``.
Tests build ``Settings(...)`` themselves and pass it to ``build_definitions``.

Secrets (``BALLDONTLIE_API_KEY``, ``ODDS_API_KEY``) are never copied into the settings: the
resource gets a ``dg.EnvVar`` naming them, resolved by Dagster at run time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LAKE_DIR = PROJECT_ROOT / ".lake"
DEFAULT_REPLAY_DIR = PROJECT_ROOT / ".replay"

SECRET_ENV = ("BALLDONTLIE_API_KEY", "ODDS_API_KEY")
UNRESOLVED_THRESHOLD_DEFAULT = 5
UNMATCHED_ODDS_THRESHOLD_DEFAULT = 0
DEFAULT_DEADLINE_ET = "07:00"  # today's predictions are due by then (HH:MM, ET)


@dataclass(frozen=True)
class Settings:
    """Everything the definitions configure, with the project's defaults."""

    lake_dir: str = str(DEFAULT_LAKE_DIR)
    # tables: local Parquet under lake_dir, or BigQuery
    backend: str = "local"  # NBA_BACKEND
    bq_project: str = ""  # GOOGLE_CLOUD_PROJECT (or GCLOUD_PROJECT)
    bq_location: str = "US"  # NBA_BQ_LOCATION
    bq_dataset_prefix: str = ""  # NBA_BQ_DATASET_PREFIX
    bq_dataset_suffix: str = ""  # NBA_BQ_DATASET_SUFFIX
    bq_job_timeout_s: float = 600.0  # NBA_BQ_JOB_TIMEOUT_S
    bq_endpoint: str = ""  # NBA_BQ_ENDPOINT (an emulator)
    # objects (landing, exports, reports): files under lake_dir, mirrored to GCS when configured
    object_store: str = "local"  # NBA_OBJECT_STORE (default gcs when NBA_GCS_BUCKET is set)
    gcs_bucket: str = ""  # NBA_GCS_BUCKET
    gcs_exports_bucket: str = ""  # NBA_GCS_EXPORTS_BUCKET
    gcs_prefix: str = ""  # NBA_GCS_PREFIX
    gcs_emulated: bool = False  # STORAGE_EMULATOR_HOST is set
    # the APIs
    replay_dir: str = ""  # NBA_REPLAY_DIR: serve this archive on 127.0.0.1 instead of the real services
    base_urls: Mapping[str, str] = field(default_factory=dict)  # BALLDONTLIE_BASE_URL, NBA_CDN_BASE_URL, ...
    secrets: tuple[str, ...] = ()  # the SECRET_ENV names that are set (passed as dg.EnvVar)
    # the clock, sensors, checks
    clock_file: str = ""  # NBA_CLOCK_FILE: a replayed clock's state file
    edge_sensors: str = ""  # NBA_EDGE_SENSORS: on | off (default: by clock and replay)
    live_sensor: str = ""  # NBA_LIVE_SENSOR: on | off (default: the edge's, stopped on a replayed clock)
    automation_sensors: str = "per_phase"  # NBA_AUTOMATION_SENSORS: per_phase | one
    # NBA_COMPONENT_CATALOG: on | off. On (default), the code location carries Dagster's catalog of
    # the component types installed (the UI's; loading it imports dagster_gcp, BigQuery and pandas:
    # ~1 s); off for a one-shot run that serves no UI (``make run``). The graph is the same.
    component_catalog: bool = True
    snapshot_times_et: tuple[time, ...] = ()  # NBA_SNAPSHOT_TIMES_ET=06:00,13:00 (empty: the edge's plan)
    snapshot_leads: tuple[timedelta, ...] = ()  # NBA_SNAPSHOT_LEADS_MIN=90,30
    dagster_url: str = ""  # NBA_DAGSTER_URL: links in alerts
    predictions_deadline_et: str = DEFAULT_DEADLINE_ET  # NBA_PREDICTIONS_DEADLINE_ET: HH:MM, ET
    unresolved_names_warn_threshold: int = UNRESOLVED_THRESHOLD_DEFAULT  # NBA_UNRESOLVED_NAMES_WARN_THRESHOLD
    unmatched_odds_warn_threshold: int = UNMATCHED_ODDS_THRESHOLD_DEFAULT  # NBA_UNMATCHED_ODDS_WARN_THRESHOLD

    def lake_config(self) -> dict:
        """The ``Lake`` resource's config."""
        return {
            "lake_dir": str(Path(self.lake_dir).resolve()),
            "backend": self.backend,
            "bq_project": self.bq_project,
            "bq_location": self.bq_location,
            "bq_dataset_prefix": self.bq_dataset_prefix,
            "bq_dataset_suffix": self.bq_dataset_suffix,
            "bq_job_timeout_s": self.bq_job_timeout_s,
            "bq_endpoint": self.bq_endpoint,
            "object_store": self.object_store,
            "gcs_bucket": self.gcs_bucket,
            "gcs_exports_bucket": self.gcs_exports_bucket,
            "gcs_prefix": self.gcs_prefix,
            "gcs_project": self.bq_project,
            "gcs_emulated": self.gcs_emulated,
        }

    def snapshot_plan(self) -> dict:
        """The snapshot slots, when overridden; the edge's own plan otherwise."""
        plan: dict = {}
        if self.snapshot_times_et:
            plan["snapshot_times"] = self.snapshot_times_et
        if self.snapshot_leads:
            plan["snapshot_leads"] = self.snapshot_leads
        return plan


BASE_URL_ENV = {
    "balldontlie": "BALLDONTLIE_BASE_URL",
    "nba_cdn": "NBA_CDN_BASE_URL",
    "nba_stats": "NBA_STATS_BASE_URL",
    "odds_api": "ODDS_API_BASE_URL",
}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or ""
    try:
        return int(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected an integer") from None


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in ("on", "off"):
        raise ValueError(f"{name}={value!r}: expected on or off")
    return value == "on"


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``env`` (default: the process environment), each with its default."""
    env = os.environ if env is None else env
    get = lambda name, default="": (env.get(name) or default).strip()  # noqa: E731
    try:
        times = tuple(time.fromisoformat(t) for t in get("NBA_SNAPSHOT_TIMES_ET").split(",") if t)
    except ValueError:
        raise ValueError(f"NBA_SNAPSHOT_TIMES_ET={get('NBA_SNAPSHOT_TIMES_ET')!r}: expected HH:MM,HH:MM") from None
    try:
        leads = tuple(timedelta(minutes=int(m)) for m in get("NBA_SNAPSHOT_LEADS_MIN").split(",") if m)
    except ValueError:
        value = get("NBA_SNAPSHOT_LEADS_MIN")
        raise ValueError(f"NBA_SNAPSHOT_LEADS_MIN={value!r}: expected minutes, e.g. 90,30") from None
    replay = get("NBA_REPLAY_DIR")
    return Settings(
        lake_dir=str(Path(get("NBA_LAKE_DIR") or DEFAULT_LAKE_DIR).resolve()),
        backend=get("NBA_BACKEND", "local").lower(),
        bq_project=get("GOOGLE_CLOUD_PROJECT") or get("GCLOUD_PROJECT"),
        bq_location=get("NBA_BQ_LOCATION", "US"),
        bq_dataset_prefix=get("NBA_BQ_DATASET_PREFIX"),
        bq_dataset_suffix=get("NBA_BQ_DATASET_SUFFIX"),
        bq_job_timeout_s=float(get("NBA_BQ_JOB_TIMEOUT_S", "600")),
        bq_endpoint=get("NBA_BQ_ENDPOINT"),
        object_store=get("NBA_OBJECT_STORE", "gcs" if get("NBA_GCS_BUCKET") else "local").lower(),
        gcs_bucket=get("NBA_GCS_BUCKET"),
        gcs_exports_bucket=get("NBA_GCS_EXPORTS_BUCKET"),
        gcs_prefix=get("NBA_GCS_PREFIX"),
        gcs_emulated=bool(get("STORAGE_EMULATOR_HOST")),
        replay_dir=str(Path(replay).resolve()) if replay else "",
        base_urls={name: get(var) for name, var in BASE_URL_ENV.items() if get(var)},
        secrets=tuple(name for name in SECRET_ENV if get(name)),
        clock_file=get("NBA_CLOCK_FILE"),
        edge_sensors=get("NBA_EDGE_SENSORS").lower(),
        live_sensor=get("NBA_LIVE_SENSOR").lower(),
        automation_sensors=get("NBA_AUTOMATION_SENSORS", "per_phase"),
        component_catalog=_switch(env, "NBA_COMPONENT_CATALOG", default=True),
        snapshot_times_et=times,
        snapshot_leads=leads,
        dagster_url=get("NBA_DAGSTER_URL").rstrip("/"),
        predictions_deadline_et=get("NBA_PREDICTIONS_DEADLINE_ET", DEFAULT_DEADLINE_ET),
        unresolved_names_warn_threshold=_int(env, "NBA_UNRESOLVED_NAMES_WARN_THRESHOLD", UNRESOLVED_THRESHOLD_DEFAULT),
        unmatched_odds_warn_threshold=_int(env, "NBA_UNMATCHED_ODDS_WARN_THRESHOLD", UNMATCHED_ODDS_THRESHOLD_DEFAULT),
    )


def lake_dir() -> Path:
    """The lake a command-line tool defaults to (``$NBA_LAKE_DIR``, default ``./.lake``): for the
    CLI entry points' argparse defaults only (``warehouse``, ``web``, ``summary``); the code
    location gets its lake from the definitions' ``Lake`` resource."""
    return Path(settings_from_env().lake_dir)


def exports_dir() -> Path:
    """The exports a command-line tool defaults to (``<lake>/exports/v1``); CLI entry points only."""
    return lake_dir() / "exports" / "v1"
