"""Phase 4: the feature store and its inputs (nba_precompute/...)."""

import dagster as dg

from nba_assets.assets import precompute


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([precompute]))
