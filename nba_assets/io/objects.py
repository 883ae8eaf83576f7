"""The object store seam: the landing zone (raw API bodies) and the JSON exports for the front end.

Keys are ``/``-separated paths relative to the store's root, the same on every backend:

- ``landing/<source>/<game_date>/<stamp>-<digest>.json.gz`` (+ ``.meta.json``): private, write-once;
- ``exports/v1/predictions/<YYYY-MM-DD>.json``, ``exports/v1/results/<YYYY-MM-DD>.json``,
  ``exports/v1/tonight/*.json``: public JSON for the web front end.

``LocalObjectStore`` keeps them under a directory (the lake's, so the keys are exactly the paths
the local lake has always used); ``GcsObjectStore`` under a bucket (and optional prefix), with
the ``Cache-Control`` of ``cache_control_for`` on every object. Credentials the standard Google way
(Application Default Credentials); ``STORAGE_EMULATOR_HOST`` points the client at an emulator.

``LakeObjects`` is what the pipeline writes through: a file under the lake, copied to the mirror
(GCS) when one is configured. The ``Lake`` resource (``nba_assets/lake.py``) builds it from its
config (``object_store: local|gcs``, ``gcs_bucket``, ``gcs_exports_bucket``, ``gcs_prefix``; the
definitions read them from ``NBA_OBJECT_STORE``, ``NBA_GCS_BUCKET``, ... in ``config.py``).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from nba_assets.io.folders import write_folder

JSON = "application/json; charset=utf-8"
GZIP = "application/gzip"

# Cache-Control by kind of object (see docs/production.md).
LANDING_CACHE = "private, no-cache, no-store"
TONIGHT_CACHE = "public, max-age=60"  # rewritten through the day as lines move (and live/ while games are on)
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
    if "/tonight/" in key or "/live/" in key or "/live-grading/" in key:
        return TONIGHT_CACHE  # the live export is rewritten every 3 minutes during the games
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
    return store.put(key, json_bytes(document), content_type=JSON, cache_control=cache_control_for(key), **kwargs)


@dataclass
class LocalObjectStore:
    """Objects as files under ``root`` (``root/<key>``); headers are not kept on local files."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._folders: set[Path] = set()  # folders this store made (or found) already: one mkdir each

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
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        try:
            tmp.write_bytes(data)
        except FileNotFoundError:  # the folder went away since: make it again
            target.parent.mkdir(parents=True, exist_ok=True)
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


def gcs_client(project: str = "", emulated: bool | None = None):
    """A storage client: an emulator's (anonymous credentials) when ``emulated``, else Application
    Default Credentials. ``emulated=None`` follows the Google library's own switch,
    ``STORAGE_EMULATOR_HOST`` (which also gives the client its endpoint)."""
    from google.cloud import storage

    if emulated is None:
        emulated = bool(os.environ.get("STORAGE_EMULATOR_HOST"))
    if emulated:
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=project or "emulated", credentials=AnonymousCredentials())
    return storage.Client(project=project or None)


@dataclass
class LakeObjects:
    """Objects as files under the lake (``root/<key>``, each written atomically), copied to
    ``mirror`` (GCS) under the same key with the content type and ``Cache-Control`` of its kind.

    The local file is what the pipeline reads back (``get``, ``list``); the mirror is what the
    web front end and the archive read. Without a mirror, the local file is the object."""

    root: Path
    mirror: ObjectStore | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self._local = LocalObjectStore(self.root)

    def path(self, key: str) -> Path:
        return self._local.path(key)

    def key(self, path: str | os.PathLike[str]) -> str:
        """The key of a file under the lake (its path relative to ``root``)."""
        source = Path(path).resolve()
        try:
            return source.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise ObjectStoreError(f"{source} is not under the lake {self.root}: no object key for it") from None

    def put(self, key: str, data: bytes, *, if_absent: bool = False) -> Path:
        """Writes ``data`` at ``key`` (locally, then to the mirror); returns the local path."""
        self._local.put(key, data, if_absent=if_absent)
        self._copy(key, data, if_absent=if_absent)
        return self.path(key)

    def put_json(self, key: str, document: Any) -> Path:
        return self.put(key, json_bytes(document))

    def copy_file(self, path: str | os.PathLike[str], *, if_absent: bool = False) -> str | None:
        """Copies a file already written under the lake to the mirror; None without a mirror."""
        key = self.key(path)
        if self.mirror is None:  # nothing to copy to: the file is not read back
            return None
        return self._copy(key, Path(path).read_bytes(), if_absent=if_absent)

    def _copy(self, key: str, data: bytes, *, if_absent: bool) -> str | None:
        if self.mirror is None:
            return None
        return self.mirror.put(
            key, data, content_type=content_type_for(key), cache_control=cache_control_for(key), if_absent=if_absent
        )

    def replace_folder(self, prefix: str, documents: dict[str, Any]) -> Path:
        """Every ``<name>.json`` of ``documents`` in a fresh folder ``prefix/`` swapped in at once
        (files of names no longer given disappear locally); each file is also mirrored."""
        bodies = {f"{name}.json": json_bytes(document) for name, document in documents.items()}
        target = write_folder(self.path(prefix.rstrip("/")), bodies)
        for name, body in bodies.items():
            self._copy(f"{prefix.rstrip('/')}/{name}", body, if_absent=False)
        return target

    def get(self, key: str) -> bytes:
        return self._local.get(key)

    def exists(self, key: str) -> bool:
        return self._local.exists(key)

    def list(self, prefix: str = "") -> list[str]:
        return self._local.list(prefix)


def json_bytes(document: Any) -> bytes:
    """A JSON document as the exports write it (indent 1, keys in the document's order)."""
    return json.dumps(document, indent=1, sort_keys=False).encode()
