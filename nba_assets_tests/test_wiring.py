"""The wiring as a Dagster engineer reads it: one factory per kind of asset, checked on the
Definitions' own asset graph."""

from __future__ import annotations

import dagster as dg
import pytest

from nba_assets.assets.common import DECLARED_BY, GAME_DATE_ASSET, SEASON_DOCUMENT, lake_asset
from nba_assets.partitions import game_date_partitions


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    from nba_assets.definitions import build_definitions

    from .conftest import lake_settings

    return build_definitions(settings=lake_settings(tmp_path_factory.mktemp("lake"))).resolve_asset_graph()


def test_every_game_date_asset_comes_from_the_factory(graph) -> None:
    """Every partitioned asset of the Definitions is declared by ``lake_asset`` (it stamps
    ``nba/declared_by``), every unpartitioned one by ``season_document``: no second way to declare one."""
    keys = graph.get_all_asset_keys()
    partitioned = {k for k in keys if graph.get(k).partitions_def is not None}
    assert len(partitioned) >= 27 and len(keys) - len(partitioned) == 3
    for key in keys:
        node = graph.get(key)
        declared = node.metadata.get(DECLARED_BY)
        if node.partitions_def is not None:
            assert node.partitions_def == game_date_partitions, key.to_user_string()
            assert declared == GAME_DATE_ASSET, key.to_user_string()
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), key.to_user_string()
        else:
            assert declared == SEASON_DOCUMENT, key.to_user_string()
    groups = {graph.get(k).group_name for k in partitioned}
    assert {"ingest", "raw", "models", "exports", "predictions", "grading"} <= groups


def test_a_bare_asset_is_told_apart() -> None:
    """The marker is the factory's: a bare ``@dg.asset`` on the same partitions carries none."""

    @dg.asset(key=["nba_raw", "bare"], partitions_def=game_date_partitions)
    def bare() -> None: ...

    @lake_asset("landing", "x_payloads", group="ingest", description="a landing asset", columns=False, pool="p")
    def declared() -> None: ...

    assert DECLARED_BY not in bare.specs_by_key[bare.key].metadata
    spec = declared.specs_by_key[declared.key]
    assert spec.metadata[DECLARED_BY] == GAME_DATE_ASSET
    assert "dagster/column_schema" not in spec.metadata
    assert declared.op.pool == "p" and spec.partitions_def == game_date_partitions


def test_no_asset_check_is_partitioned(graph) -> None:
    """Every check evaluates once per run, without partition: what the instance's storage relies on
    when it writes one planned row per check and run (``one_plan_per_check`` in dagster.yaml,
    nba_assets/event_storage.py). A partitioned check would lose its per-partition "planned" state
    in the UI while a run is going: turn that option off in nba_assets/instance.py first."""
    checks = graph.asset_check_keys
    assert len(checks) >= 50
    partitioned = [k.to_user_string() for k in checks if graph.get_check_spec(k).partitions_def is not None]
    assert partitioned == []
