"""Phase 2: the raw tables parsed from landing (nba_raw/...), with their payload checks."""

import dagster as dg

from nba_assets.assets import raw


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([raw]))
