"""The wiring every asset shares: one factory for the game-date assets, one for the season-wide
documents, and the inputs (same day, days before, every stored partition)."""

from collections.abc import Sequence

import dagster as dg

from nba_assets.partitions import game_date_partitions, history_before, window_dates
from nba_assets.schemas import schema_for

# Stamped on every asset the factories declare: ``test_wiring`` walks the Definitions and finds no
# game-date asset (and no season-wide document) declared any other way.
DECLARED_BY = "nba/declared_by"
GAME_DATE_ASSET = "game_date_asset"
SEASON_DOCUMENT = "season_document"


def column_schema(dataset: str, table: str) -> dg.TableSchema:
    """The declared schema (``schemas.schema_for``) as Dagster ``TableSchema`` metadata (shown in the UI)."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in schema_for(dataset, table).items()]
    )


def lake_asset(
    dataset: str,
    table: str,
    *,
    group: str,
    description: str,
    ins=None,
    metadata=None,
    columns: bool = True,
    io_manager_key: str | None = None,
    pool: str | None = None,
    retry_policy: dg.RetryPolicy | None = None,
    kinds: set[str] | None = None,
    **kwargs,
):
    """``@asset`` for the game-date asset ``dataset/table`` (every partitioned asset of the graph is
    declared here): daily game-date partitions, one run per backfill. Its automation condition is
    not declared here: ``nba_assets.automation.apply_automation`` computes it from its group and
    its parents in the graph, once the Definitions are known.

    The variants are parameters: ``columns`` publishes the table's declared schema as
    ``dagster/column_schema`` (False for what is not a lake table: landing bodies, models, export
    files); ``io_manager_key`` (the models' ``model_store``), ``pool`` and ``retry_policy`` (the
    ingest assets' API pools), ``kinds`` (else the definitions derive them from the key and backend).
    Anything else (``deps``, ``check_specs``, ``required_resource_keys``) goes to ``dg.asset``."""
    declared = {"dagster/column_schema": column_schema(dataset, table)} if columns else {}
    given = {"io_manager_key": io_manager_key, "pool": pool, "retry_policy": retry_policy, "kinds": kinds}
    optional = {k: v for k, v in given.items() if v is not None}
    return dg.asset(
        key=[dataset, table],
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=group,
        ins=ins or {},
        metadata={**declared, **(metadata or {}), DECLARED_BY: GAME_DATE_ASSET},
        description=description,
        **optional,
        **kwargs,
    )


def season_document(
    dataset: str,
    table: str,
    *,
    group: str,
    description: str,
    kinds: set[str],
    ins=None,
    **kwargs,
):
    """``@asset`` for a season-wide document (``backtest_report``, ``systems_performance_json``,
    ``tonight_json``): unpartitioned, one run, reading every stored daily partition of its inputs
    (``all_stored``); its as-of date is what is stored. Its condition (``season_eager``) comes from
    ``nba_assets.automation.apply_automation``, as every asset's."""
    return dg.asset(
        key=[dataset, table],
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=group,
        kinds=kinds,
        ins=ins or {},
        metadata={DECLARED_BY: SEASON_DOCUMENT},
        description=description,
        **kwargs,
    )


def same_day(dataset: str, table: str) -> dg.AssetIn:
    """The upstream table's partitions of the same game dates."""
    return dg.AssetIn(key=[dataset, table])


def days_before(dataset: str, table: str, days: int) -> dg.AssetIn:
    """The upstream table's ``days`` partitions strictly before each game date, as one frame."""
    return dg.AssetIn(key=[dataset, table], partition_mapping=history_before(days))


def all_stored(dataset: str, table: str, columns: Sequence[str] | None = None) -> dg.AssetIn:
    """Every stored partition of the upstream table, as one frame: the input of a season-wide
    (unpartitioned) document, whose as-of date is what is stored, never the calendar's last day.
    ``columns``: read only these (a four-season feature store is ~1,150 files of ~100 columns)."""
    from nba_assets.io.manager import READ_COLUMNS, STORED_PARTITIONS

    metadata: dict = {STORED_PARTITIONS: True}
    if columns:
        metadata[READ_COLUMNS] = list(columns)
    return dg.AssetIn(key=[dataset, table], metadata=metadata)


def partition_metadata(context: dg.AssetExecutionContext, frame, describe) -> None:
    """Per partition of the run's window, ``describe(rows of that day)`` as that day's own metadata.

    A ranged run's output covers many partitions; metadata added to the output would repeat the
    run's totals on every partition. This attaches each day's figures to that day only (days of the
    window without rows get ``describe`` of an empty frame).
    """
    by_day = {k[0]: v for k, v in frame.partition_by("game_date", as_dict=True).items()} if frame.height else {}
    for day in window_dates(context):
        meta = {k: v for k, v in describe(by_day.get(day, frame.clear())).items() if v is not None}
        if meta:
            context.add_asset_metadata(meta, partition_key=day.isoformat())
