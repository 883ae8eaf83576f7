"""NBA player-props lakehouse: Dagster software-defined assets from ingest to graded predictions."""

import warnings

# Dagster's BetaWarning (``dagster.BetaWarning`` is this class), from the light ``dagster_shared``:
# a command that never touches Dagster (``python -m nba_assets.instance``, the summary's imports)
# does not pay the ~1 s import of ``dagster`` for a warnings filter.
from dagster_shared.utils.warnings import BetaWarning

# Single-run backfills and partition mappings that allow missing upstream partitions are the
# design of this project; Dagster marks both as beta. Say it once here, not on every command.
warnings.filterwarnings("ignore", category=BetaWarning)
