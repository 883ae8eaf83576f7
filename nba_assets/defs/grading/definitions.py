"""Phase 6: grading, daily figures and the backtest report."""

import dagster as dg

from nba_assets.assets import grading


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([grading]))
