"""The live export: the live feeds landed while games are on, and exports/v1/live*/ (issue 15)."""

import dagster as dg

from nba_assets.assets import live


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([live]))
