"""The production instance's storage on PostgreSQL: Dagster's ``DagsterPostgresStorage``
(dagster-postgres: runs, event log and schedules in one database) with the event log's asset-check
plan rows written as the embedded storage writes them (``event_storage.OnePlanPerCheck``).

Dagster 1.13.27 plans a check in a partitioned run once per partition of the run, and the
project's checks (which have no partitions) evaluate once per run: on stock PostgreSQL a
four-season run leaves 1,154 PLANNED rows per check that never resolve (as many "skipped"
executions in each check's history in the UI). With ``one_plan_per_check: true`` (what
``python -m nba_assets.instance --postgres-url`` writes) a run plans one row per check, which its
evaluation completes. Everything else is dagster-postgres's own; its config keys
(``postgres_url``, ``postgres_db``, ``should_autocreate_tables``, ...) are unchanged.

A separate module so that the SQLite storage never imports dagster-postgres or its driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from dagster import BoolSource, Field
from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.storage import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from nba_assets.event_storage import OnePlanPerCheck

PG_OPTION_FIELDS = {"one_plan_per_check": Field(BoolSource, is_required=False, default_value=False)}


def _pg_options(config_value: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """dagster-postgres's own config, and ``one_plan_per_check``."""
    config = dict(config_value)
    return config, bool(config.pop("one_plan_per_check", False))


def _constructor_kwargs(inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]) -> dict[str, Any]:
    """What dagster-postgres's ``from_config_value`` passes its constructors, and ``one_plan_per_check``."""
    config, one_plan = _pg_options(config_value)
    return {
        "inst_data": inst_data,
        "postgres_url": pg_url_from_config(config),
        "should_autocreate_tables": config.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config),
        "one_plan_per_check": one_plan,
    }


class OnePlanPostgresEventLogStorage(OnePlanPerCheck, PostgresEventLogStorage):
    """dagster-postgres's event log with ``one_plan_per_check``."""

    def __init__(self, *args: Any, one_plan_per_check: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._one_plan_per_check = bool(one_plan_per_check)

    @classmethod
    def config_type(cls) -> dict:
        return {**PostgresEventLogStorage.config_type(), **PG_OPTION_FIELDS}

    # The stock classmethod constructs PostgresEventLogStorage itself, not cls.
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> OnePlanPostgresEventLogStorage:
        return cls(**_constructor_kwargs(inst_data, config_value))


class NbaPostgresStorage(DagsterPostgresStorage):
    """``DagsterPostgresStorage`` whose event log is ``OnePlanPostgresEventLogStorage``."""

    def __init__(self, *args: Any, one_plan_per_check: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._one_plan_per_check = bool(one_plan_per_check)
        stock = self._event_log_storage
        self._event_log_storage = OnePlanPostgresEventLogStorage(
            self.postgres_url,
            self.should_autocreate_tables,
            token_provider=stock._token_provider,  # noqa: SLF001 - what the stock constructor passed
            one_plan_per_check=self._one_plan_per_check,
        )
        stock.dispose()

    @classmethod
    def config_type(cls) -> dict:
        return {**DagsterPostgresStorage.config_type(), **PG_OPTION_FIELDS}

    # The stock classmethod constructs DagsterPostgresStorage itself, not cls.
    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> NbaPostgresStorage:
        return cls(**_constructor_kwargs(inst_data, config_value))

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        if self.inst_data is None:
            return None
        return ConfigurableClassData(
            __name__,
            OnePlanPostgresEventLogStorage.__name__,
            self.inst_data.config_yaml,  # its one_plan_per_check included
        )

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return self._stock_data("PostgresRunStorage")

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return self._stock_data("PostgresScheduleStorage")

    def _stock_data(self, class_name: str) -> ConfigurableClassData | None:
        """dagster-postgres's own class, given its config without the option it does not know."""
        if self.inst_data is None:
            return None
        config, _ = _pg_options(yaml.safe_load(self.inst_data.config_yaml) or {})
        return ConfigurableClassData("dagster_postgres", class_name, yaml.dump(config, default_flow_style=False))
