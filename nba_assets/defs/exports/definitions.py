"""Phase 6: the JSON documents of the web front end (exports/v1/...)."""

import dagster as dg

from nba_assets.assets import exports


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([exports]))
