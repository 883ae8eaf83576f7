"""Shared HTTP behaviour of the API clients: timeouts, bounded retries, landing of raw bodies.

Every response body is written untouched (gzip) to the landing zone before anything parses it:
``<lake>/landing/<source>/<game_date>/<utc timestamp>-<request digest>.json.gz`` with a
``.meta.json`` beside it (URL with secrets redacted, status, headers). Landing files are never
overwritten or deleted by the pipeline.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token"})
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "set-cookie"})
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceError(RuntimeError):
    """A request that failed for good after its bounded retries (transient: a later run may succeed)."""


class RequestRejected(SourceError):
    """A 4xx other than 429 (bad key, bad request): retrying cannot help."""


class BadBodyError(SourceError):
    """A 2xx body that is not valid JSON after every attempt (names the landing file)."""


@dataclass(frozen=True)
class Fetched:
    """One successful response: its decoded JSON (None for 204/empty) and where it was landed."""

    body: Any
    path: Path | None
    status: int
    headers: Mapping[str, str]


def redact_url(url: httpx.URL) -> str:
    params = [(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in url.params.multi_items()]
    return str(url.copy_with(params=params))


@dataclass
class Landing:
    """Writes raw response bodies under ``root/<source>/<game_date>/``; never overwrites.

    ``copy``: called with each file once it is in place (the ``Lake`` resource's write-once copy to
    the object store); this module itself never reaches storage beyond the landing folder."""

    root: Path
    copy: Callable[[Path], object] | None = None
    _folders: set[Path] = field(default_factory=set, repr=False)  # made by this writer (one mkdir each)

    def write(self, source: str, game_date: date, response: httpx.Response) -> Path:
        folder = self.root / source / game_date.isoformat()
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        url = redact_url(response.request.url)
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        path = folder / f"{stamp}-{digest}.json.gz"
        while path.exists():  # same request in the same microsecond: keep both
            path = folder / f"{stamp}-{digest}-{uuid.uuid4().hex[:6]}.json.gz"
        meta = {
            "url": url,
            "status": response.status_code,
            "headers": {k: v for k, v in response.headers.items() if k.lower() not in SECRET_HEADERS},
            "fetched_at": stamp,
        }
        # Level 6 (zlib's default): the four seasons' 123 MB of bodies in 4.2 s instead of level 9's
        # 8.0 s (measured on the demo's landing), for 11.5 MB instead of 10.7 MB.
        for target, data in (
            (path, gzip.compress(response.content, compresslevel=6, mtime=0)),
            (path.with_name(path.name.replace(".json.gz", ".meta.json")), json.dumps(meta, indent=1).encode()),
        ):
            tmp = target.with_name(target.name + ".tmp")
            try:
                tmp.write_bytes(data)
            except FileNotFoundError:  # the folder went away since this writer made it
                folder.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(data)
            os.replace(tmp, target)
            if self.copy is not None:
                self.copy(target)
        return path


@dataclass
class HttpSource:
    """One API: base URL, auth, timeouts and a bounded retry loop with backoff and jitter."""

    name: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    landing: Landing | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    max_total_seconds: float = 120.0
    backoff_base: float = 0.5
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    _client: httpx.Client | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url,
                headers=dict(self.headers),
                timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]], game_date: date) -> httpx.Response:
        """GET with retries; lands every body it receives; returns the final 2xx response."""
        return self._request(path, params, game_date, decode=False)[0]

    def get_json(self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]], game_date: date) -> Fetched:
        """GET with retries, landing every body; a 2xx body that is not JSON (e.g. truncated) is
        retried like a 5xx, and fails as ``BadBodyError`` naming its landing file."""
        response, body, landed = self._request(path, params, game_date, decode=True)
        return Fetched(body=body, path=landed, status=response.status_code, headers=dict(response.headers))

    def _request(
        self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]], game_date: date, decode: bool
    ) -> tuple[httpx.Response, Any, Path | None]:
        merged = list(params.items()) if isinstance(params, Mapping) else list(params)
        merged += list(self.params.items())
        started = time.monotonic()
        last_error = ""
        bad_body: Path | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client().get(path, params=merged)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}"
                response = None
            if response is not None:
                landed = None
                if self.landing is not None and response.content:
                    landed = self.landing.write(self.name, game_date, response)
                if response.status_code < 400:
                    if not decode or response.status_code == 204 or not response.content:
                        return response, None, landed
                    try:
                        return response, json.loads(response.content), landed
                    except ValueError as exc:
                        bad_body = landed
                        where = f" (landed at {landed})" if landed else ""
                        last_error = f"HTTP {response.status_code} with a body that is not JSON{where}: {exc}"
                        response = None  # retried like a transport error
                else:
                    last_error = f"HTTP {response.status_code}"
                    if response.status_code not in RETRY_STATUS:
                        break
            delay = self._delay(attempt, response)
            if attempt == self.max_attempts or time.monotonic() - started + delay > self.max_total_seconds:
                break
            self.sleep(delay)
        url = redact_url(self.client().build_request("GET", path, params=merged).url)
        message = (
            f"{self.name}: GET {url} for game date {game_date.isoformat()} failed after {attempt} attempt(s): "
            f"{last_error}"
        )
        if bad_body is not None and last_error.startswith("HTTP 2"):
            raise BadBodyError(message)
        if response is not None and 400 <= response.status_code < 500 and response.status_code not in RETRY_STATUS:
            raise RequestRejected(message)
        raise SourceError(message)

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and "retry-after" in response.headers:
            try:
                return max(0.0, float(response.headers["retry-after"]))
            except ValueError:
                pass
        return min(self.max_backoff, self.backoff_base * 2 ** (attempt - 1)) * (0.5 + random.random())
