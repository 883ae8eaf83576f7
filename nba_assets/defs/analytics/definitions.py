"""Phase 3: per-game summaries and upcoming-game contexts (nba_analytics/...)."""

import dagster as dg

from nba_assets.assets import analytics


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([analytics]))
