"""A folder written whole, then swapped in: readers see the old folder or the new one, never a mix."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path


def write_folder(target: Path, files: Mapping[str, bytes]) -> Path:
    """``files`` (name -> bytes) in a fresh staging folder beside ``target``, swapped in with
    ``os.replace``; the old folder (and any file of a name no longer given) is removed. A failure
    before the swap leaves ``target`` as it was and no staging folder behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for name, body in files.items():
            (staging / name).write_bytes(body)
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex}"
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
