"""Phase 4: who plays tonight, and the usage left by those who do not."""

import dagster as dg

from nba_assets.assets import availability


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([availability]))
