"""Weekly artifacts as the predictors see them (pure: no storage).

An ``Artifact`` is what a model or calibration asset hands the store for one week; a
``StoredWeek`` is what the predictors read back (the model store's ``StoredArtifact`` is one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True)
class Artifact:
    """One week's artifact: files (name → bytes) and JSON metadata."""

    files: dict[str, bytes]
    metadata: dict[str, Any]


class StoredWeek(Protocol):
    """A stored week's artifact: its metadata, and its files read on demand."""

    week: date
    metadata: dict[str, Any]

    def read(self, name: str) -> bytes: ...


def reusable(
    stored: Callable[[date], StoredWeek | None] | None, week: date, status: str, fingerprint: str, file: str
) -> Artifact | None:
    """The week's stored artifact, read back, when it has ``status`` and the ``fingerprint`` of this
    run's inputs (built from the same inputs, it is what this run would build); else None."""
    previous = stored(week) if stored is not None else None
    if (
        previous is None
        or previous.metadata.get("status") != status
        or previous.metadata.get("fingerprint") != fingerprint
    ):
        return None
    return Artifact(files={file: previous.read(file)}, metadata=previous.metadata)
