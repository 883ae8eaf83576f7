"""The object store seam: the landing zone (raw API bodies) and the JSON exports for the front end.

Keys are ``/``-separated paths relative to the store's root, the same on every backend:

- ``landing/<source>/<game_date>/<stamp>-<digest>.json.gz`` (+ ``.meta.json``): private, write-once;
- ``exports/v1/predictions/<YYYY-MM-DD>.json``, ``exports/v1/results/<YYYY-MM-DD>.json``,
  ``exports/v1/tonight/*.json``: public JSON for the web front end.

``LocalObjectStore`` keeps them under a directory (``$NBA_LAKE_DIR``, so the keys are exactly the
paths the local lake has always used); ``GcsObjectStore`` under a bucket (and optional prefix), with
the ``Cache-Control`` of ``cache_control_for`` on every object. Credentials the standard Google way
(Application Default Credentials); ``STORAGE_EMULATOR_HOST`` points the client at an emulator.

Selection (``object_store_from_env``): ``NBA_OBJECT_STORE=local|gcs``; default ``gcs`` when
``NBA_GCS_BUCKET`` is set, else ``local``. GCS needs ``NBA_GCS_BUCKET`` (``NBA_GCS_PREFIX`` optional;
``NBA_GCS_EXPORTS_BUCKET`` puts the public exports in a bucket of their own).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

JSON = "application/json; charset=utf-8"
GZIP = "application/gzip"

# Cache-Control by kind of object (see docs/production.md).
LANDING_CACHE = "private, no-cache, no-store"
TONIGHT_CACHE = "public, max-age=60"  # rewritten through the day as lines move
CURRENT_DAY_CACHE = "public, max-age=300"  # a dated file of today/yesterday/future may still change
SETTLED_DAY_CACHE = "public, max-age=86400"  # a dated file two or more days old is final
DEFAULT_EXPORT_CACHE = "public, max-age=300"

_DATED = re.compile(r"(\d{4}-\d{2}-\d{2})\.json$")


class ObjectStoreError(RuntimeError):
    """A failed object write/read; names the store and the key."""


class ObjectExistsError(ObjectStoreError):
    """A write-once object (``if_absent=True``) already exists."""


def cache_control_for(key: str, today: date | None = None) -> str:
    """The ``Cache-Control`` header an object gets, by its key."""
    if key.startswith("landing/"):
        return LANDING_CACHE
    if "/tonight/" in key:
        return TONIGHT_CACHE
    match = _DATED.search(key)
    if match and ("/predictions/" in key or "/results/" in key):
        day = date.fromisoformat(match.group(1))
        today = today or datetime.now(UTC).date()
        return SETTLED_DAY_CACHE if day <= today - timedelta(days=2) else CURRENT_DAY_CACHE
    return DEFAULT_EXPORT_CACHE


def content_type_for(key: str) -> str:
    if key.endswith(".gz"):
        return GZIP
    if key.endswith(".json"):
        return JSON
    return "application/octet-stream"


def _check_key(key: str) -> str:
    path = PurePosixPath(key)
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")) or path.is_absolute():
        raise ObjectStoreError(f"invalid object key {key!r}: a relative path without '.', '..' or empty parts")
    return key


class ObjectStore(Protocol):
    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> str:
        """Store ``data`` at ``key`` atomically (a reader never sees half an object); returns its URI.

        ``if_absent``: write-once, ``ObjectExistsError`` when the key exists."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix``, sorted."""
        ...

    def uri(self, key: str) -> str: ...


def put_json(store: ObjectStore, key: str, document: Any, **kwargs: Any) -> str:
    """A JSON document with the content type and ``Cache-Control`` of its kind."""
    body = json.dumps(document, indent=1, sort_keys=False).encode()
    return store.put(key, body, content_type=JSON, cache_control=cache_control_for(key), **kwargs)


@dataclass
class LocalObjectStore:
    """Objects as files under ``root`` (``root/<key>``); headers are not kept on local files."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> str:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        try:
            if if_absent:
                try:
                    os.link(tmp, target)  # atomic create-only: fails if the target exists
                except FileExistsError:
                    raise ObjectExistsError(f"{self.uri(key)} already exists (write-once)") from None
            else:
                os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return self.uri(key)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectStoreError(f"{self.uri(key)} does not exist") from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self.root / prefix.rstrip("/") if prefix else self.root
        folder = base if base.is_dir() else base.parent
        if not folder.exists():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not PurePosixPath(k).name.startswith("."))

    def uri(self, key: str) -> str:
        return self.path(key).resolve().as_uri()


@dataclass
class GcsObjectStore:
    """Objects in ``gs://<bucket>/<prefix><key>``, each with its ``Cache-Control`` and content type."""

    bucket: str
    prefix: str = ""
    client: Any = None
    timeout: float = 60.0
    cache_policy: Callable[[str], str] = field(default=cache_control_for)

    def __post_init__(self) -> None:
        if self.client is None:
            self.client = gcs_client()
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self._bucket = self.client.bucket(self.bucket)

    def name(self, key: str) -> str:
        return f"{self.prefix}{_check_key(key)}"

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
        if_absent: bool = False,
    ) -> str:
        from google.api_core.exceptions import GoogleAPIError, PreconditionFailed

        blob = self._bucket.blob(self.name(key))
        blob.cache_control = cache_control or self.cache_policy(key)
        kwargs: dict[str, Any] = {}
        if if_absent:
            if blob.exists(timeout=self.timeout):
                raise ObjectExistsError(f"{self.uri(key)} already exists (write-once)")
            kwargs["if_generation_match"] = 0  # GCS itself refuses if another writer got there first
        try:
            # GCS makes an object visible only once its upload completes: readers never see half of one.
            blob.upload_from_string(
                data, content_type=content_type or content_type_for(key), timeout=self.timeout, **kwargs
            )
        except PreconditionFailed:
            raise ObjectExistsError(f"{self.uri(key)} already exists (write-once)") from None
        except GoogleAPIError as exc:
            raise ObjectStoreError(f"{self.uri(key)}: upload failed: {exc}") from exc
        return self.uri(key)

    def get(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        try:
            return self._bucket.blob(self.name(key)).download_as_bytes(timeout=self.timeout)
        except NotFound:
            raise ObjectStoreError(f"{self.uri(key)} does not exist") from None

    def exists(self, key: str) -> bool:
        return self._bucket.blob(self.name(key)).exists(timeout=self.timeout)

    def list(self, prefix: str = "") -> list[str]:
        blobs = self.client.list_blobs(self.bucket, prefix=self.prefix + prefix, timeout=self.timeout)
        return sorted(b.name[len(self.prefix) :] for b in blobs)

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket}/{self.name(key)}"

    def cache_control(self, key: str) -> str | None:
        """The stored object's ``Cache-Control`` header (for checks and tests)."""
        blob = self._bucket.get_blob(self.name(key), timeout=self.timeout)
        return blob.cache_control if blob is not None else None


def gcs_client():
    """A storage client: the emulator's (anonymous) when ``STORAGE_EMULATOR_HOST`` is set, else ADC."""
    from google.cloud import storage

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(
            project=os.environ.get("GOOGLE_CLOUD_PROJECT", "emulated"), credentials=AnonymousCredentials()
        )
    return storage.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT") or None)


def object_store_from_env(lake_dir: str | os.PathLike[str] | None = None, *, purpose: str = "landing") -> ObjectStore:
    """The store for ``purpose`` (``landing`` or ``exports``) selected by the environment.

    On GCS the exports may live in their own, publicly readable bucket (``NBA_GCS_EXPORTS_BUCKET``,
    default ``NBA_GCS_BUCKET``) while the landing zone stays private."""
    from nba_assets import config

    if purpose not in ("landing", "exports"):
        raise ObjectStoreError(f"unknown object store purpose {purpose!r}: expected 'landing' or 'exports'")

    default = "gcs" if os.environ.get("NBA_GCS_BUCKET") else "local"
    kind = (os.environ.get("NBA_OBJECT_STORE") or default).strip().lower()
    if kind == "local":
        return LocalObjectStore(Path(lake_dir) if lake_dir else config.lake_dir())
    if kind == "gcs":
        bucket = os.environ.get("NBA_GCS_BUCKET")
        if purpose == "exports":
            bucket = os.environ.get("NBA_GCS_EXPORTS_BUCKET") or bucket
        if not bucket:
            raise ObjectStoreError("the GCS object store needs NBA_GCS_BUCKET (the bucket for landing and exports)")
        return GcsObjectStore(bucket, prefix=os.environ.get("NBA_GCS_PREFIX", ""))
    raise ObjectStoreError(f"NBA_OBJECT_STORE={kind!r}: expected 'local' or 'gcs'")


@lru_cache(maxsize=8)
def _cached_store(purpose: str, env: tuple[tuple[str, str], ...]) -> ObjectStore:
    return object_store_from_env(purpose=purpose)


_ENV_KEYS = (
    "NBA_BACKEND",
    "NBA_OBJECT_STORE",
    "NBA_GCS_BUCKET",
    "NBA_GCS_EXPORTS_BUCKET",
    "NBA_GCS_PREFIX",
    "NBA_LAKE_DIR",
    "STORAGE_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT",
)


def mirror_file(path: str | os.PathLike[str], *, purpose: str, if_absent: bool = False) -> str | None:
    """Copy a file just written under the local lake to the configured object store.

    A no-op (returns None) when the store is the local lake itself; otherwise the key is the path
    relative to ``$NBA_LAKE_DIR`` (``exports/v1/...``, ``landing/...``) and the object gets the
    content type and ``Cache-Control`` of its kind. Returns the object's URI."""
    from nba_assets import config

    store = _cached_store(purpose, tuple((k, os.environ.get(k, "")) for k in _ENV_KEYS))
    if isinstance(store, LocalObjectStore):
        return None
    source = Path(path).resolve()
    try:
        key = source.relative_to(config.lake_dir()).as_posix()
    except ValueError:  # a lake configured apart from $NBA_LAKE_DIR: key from the landing/exports folder
        anchors = [i for i, part in enumerate(source.parts) if part == purpose]
        if not anchors:
            raise ObjectStoreError(
                f"{source} is not under the lake {config.lake_dir()} nor a {purpose}/ folder: no object key for it"
            ) from None
        key = PurePosixPath(*source.parts[anchors[-1] :]).as_posix()
    return store.put(
        key,
        source.read_bytes(),
        content_type=content_type_for(key),
        cache_control=cache_control_for(key),
        if_absent=if_absent,
    )
