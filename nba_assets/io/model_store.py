"""The model store: weekly artifacts (trained models, calibrations) in the lake, with their metadata.

Layout: ``<lake>/nba_predictions/<asset>/week=YYYY-MM-DD/`` holding the artifact's files
(e.g. ``model.txt`` for LightGBM, ``model.json`` for XGBoost, ``calibration.json``) and
``metadata.json`` (train window, rows, validation MAE, feature list, feature_version, ...).
A week's directory is staged and swapped in with ``os.replace``: a reader sees the old week or
the new one, never half of one; ``metadata.json`` is the last file of a complete week.

The assets are partitioned by game date like every other asset (one partitions definition keeps
``dg launch --assets '*' --partition-range`` one run); the artifacts are weekly. Through
``ModelStoreIOManager`` (``io/manager.py``, nested on the ``Lake`` resource), output: an asset
returns ``dict[date, Artifact]`` (week start → artifact); every week in it is written, and each
game-date partition of the run shows its week's metadata. Input: the weeks overlapping the game
dates the dependency's partition mapping resolves to arrive as ``dict[date, StoredArtifact]``
(weeks never materialized are simply absent: the consumer decides
whether a missing week is an error — for predictions it is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from nba_assets.facts import week_of
from nba_assets.io.folders import write_folder
from nba_assets.predictors.artifacts import Artifact

__all__ = ["Artifact", "ModelStore", "StoredArtifact", "week_of"]

METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class StoredArtifact:
    week: date
    path: Path
    metadata: dict[str, Any] = field(default_factory=dict)

    def read(self, name: str) -> bytes:
        file = self.path / name
        if not file.is_file():
            raise FileNotFoundError(f"model store: {file} is missing (week {self.week.isoformat()})")
        return file.read_bytes()


class ModelStore:
    """Weekly artifacts of one asset under ``root/<dataset>/<table>/week=YYYY-MM-DD``."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def week_dir(self, dataset: str, table: str, week: date) -> Path:
        return self.root / dataset / table / f"week={week.isoformat()}"

    def write(self, dataset: str, table: str, week: date, artifact: Artifact) -> Path:
        final = self.week_dir(dataset, table, week)
        metadata = json.dumps(artifact.metadata, indent=1, sort_keys=True, default=str).encode()
        write_folder(final, {**artifact.files, METADATA_FILE: metadata})
        return final

    def read(self, dataset: str, table: str, week: date) -> StoredArtifact | None:
        path = self.week_dir(dataset, table, week)
        meta = path / METADATA_FILE
        if not meta.is_file():
            return None
        return StoredArtifact(week=week, path=path, metadata=json.loads(meta.read_text()))

    def stored_weeks(self, dataset: str, table: str) -> list[date]:
        base = self.root / dataset / table
        if not base.exists():
            return []
        return sorted(
            date.fromisoformat(p.name.removeprefix("week="))
            for p in base.glob("week=*")
            if (p / METADATA_FILE).is_file()
        )
