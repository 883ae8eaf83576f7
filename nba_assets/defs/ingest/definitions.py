"""Phase 1, the edge: the API fetches that land raw bodies (landing/...)."""

import dagster as dg

from nba_assets.assets import ingest


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([ingest]))
