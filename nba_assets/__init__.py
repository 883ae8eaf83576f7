"""NBA player-props lakehouse: Dagster software-defined assets from ingest to graded predictions."""

import warnings

import dagster as dg

# Single-run backfills and partition mappings that allow missing upstream partitions are the
# design of this project; Dagster marks both as beta. Say it once here, not on every command.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
