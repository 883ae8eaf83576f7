"""Phase 5: the weekly trained models and calibrations (the model store)."""

import dagster as dg

from nba_assets.assets import models


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([models]))
