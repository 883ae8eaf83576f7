"""Phase 5: every system's predictions per game date (nba_predictions/...)."""

import dagster as dg

from nba_assets.assets import predictions


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([predictions]))
