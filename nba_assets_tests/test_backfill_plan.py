"""A backfill touches what it says: planned as the UI plans it, over the Definitions' asset graph.

The UI's "Materialize → backfill" of an asset and its downstream for a few days goes through
``AssetBackfillData.from_asset_partitions``; a downstream window mapping would fan a 3-day
backfill out into a year of future partitions (it did, through ``systems_performance_json``'s
365-day window). Season-wide documents are unpartitioned assets: each is targeted once.
"""

from __future__ import annotations

import time

import dagster as dg
import pytest
from dagster._core.execution.asset_backfill import AssetBackfillData

from .conftest import lake_settings

DAYS = ["2024-12-10", "2024-12-11", "2024-12-12"]
PREDICTIONS = dg.AssetKey(["nba_predictions", "player_prop_predictions"])
SEASON_WIDE = {
    dg.AssetKey(["nba_predictions", "backtest_report"]),
    dg.AssetKey(["exports", "systems_performance_json"]),
    dg.AssetKey(["exports", "tonight_json"]),
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    from nba_assets.definitions import build_definitions

    return build_definitions(settings=lake_settings(tmp_path_factory.mktemp("lake"))).resolve_asset_graph()


def _plan(graph, roots: list[dg.AssetKey]):
    selection = dg.AssetSelection.assets(*roots).downstream().resolve(graph)
    with dg.instance_for_test() as instance:
        data = AssetBackfillData.from_asset_partitions(
            asset_graph=graph,
            partition_names=DAYS,
            asset_selection=sorted(selection),
            dynamic_partitions_store=instance,
            backfill_start_timestamp=time.time(),
            all_partitions=False,
        )
    return selection, data.target_subset


def test_a_ui_backfill_of_predictions_and_downstream_targets_only_its_days(graph) -> None:
    selection, targets = _plan(graph, [PREDICTIONS])
    daily = {
        key: sorted(subset.get_partition_keys()) for key, subset in targets.partitions_subsets_by_asset_key.items()
    }
    assert PREDICTIONS in daily and len(daily) >= 5, daily  # predictions, grading, exports
    for key, keys in daily.items():
        assert keys == DAYS, (key.to_user_string(), keys[:3], keys[-3:], len(keys))
    assert set(targets.non_partitioned_asset_keys) == SEASON_WIDE
    assert set(daily) | set(targets.non_partitioned_asset_keys) == set(selection)


def test_season_wide_documents_are_unpartitioned_and_read_every_stored_day(graph) -> None:
    from nba_assets.io.manager import STORED_PARTITIONS

    for key in SEASON_WIDE:
        node = graph.get(key)
        assert node.partitions_def is None, key
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
        assert node.automation_condition is not None, key
        assets_def = graph.assets_def_for_key(key)
        assert assets_def.input_names, key
        for name in assets_def.input_names:
            input_def = assets_def.node_def.input_def_named(name)
            if input_def.dagster_type.is_nothing:  # a dependency without a load (deps=)
                continue
            assert input_def.metadata.get(STORED_PARTITIONS) is True, (key, name)
