"""A small stdlib HTTP server for the web front end.

Routes: ``/`` the single page, ``/static/*`` its CSS and JavaScript, ``/v1/*.json`` the export
files (read from a directory or fetched from a base URL), and ``/index/dates.json``: the dates
that have a ``predictions/`` or a ``results/`` export and whether ``tonight/all-players.json``
exists (a listing of the export directory; empty with a base URL, which cannot be listed); ``live``
lists the dates with a ``live/`` export.
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
EXPORT_PATH = re.compile(r"^/v1/((?:[a-z0-9_-]+/)*[A-Za-z0-9_.-]+\.json)$")
DATE_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


class ExportSource:
    """Where the export files come from: a local ``exports/v1`` directory or a base URL."""

    def __init__(self, directory: Path | None = None, base_url: str | None = None) -> None:
        if (directory is None) == (base_url is None):
            raise ValueError("give exactly one of directory or base_url")
        self.directory = directory.resolve() if directory is not None else None
        self.base_url = base_url.rstrip("/") if base_url else None

    def describe(self) -> str:
        return str(self.directory) if self.directory is not None else str(self.base_url)

    def read(self, relative: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        if self.directory is not None:
            path = (self.directory / relative).resolve()
            if not path.is_relative_to(self.directory) or not path.is_file():
                return None
            return path.read_bytes()
        import httpx

        response = httpx.get(f"{self.base_url}/{relative}", timeout=10.0, follow_redirects=True)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content

    def dates(self) -> dict:
        """Dates with a predictions / results export, newest first, and whether tonight's file
        exists (None: unknown, with a base URL)."""
        out: dict = {"predictions": [], "results": [], "live": [], "tonight": None}
        if self.directory is None:
            return out
        out["tonight"] = (self.directory / "tonight" / "all-players.json").is_file()
        for kind in ("predictions", "results", "live"):
            folder = self.directory / kind
            if folder.is_dir():
                out[kind] = sorted((p.stem for p in folder.iterdir() if DATE_FILE.match(p.name)), reverse=True)
        return out


def _handler(source: ExportSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "nba-props-web"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
            pass

        def _send(self, status: int, body: bytes, content_type: str, cache: str = "no-cache") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _not_found(self, what: str) -> None:
            body = json.dumps({"error": "not found", "path": what}).encode()
            self._send(HTTPStatus.NOT_FOUND, body, "application/json")

        def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, (STATIC / "index.html").read_bytes(), CONTENT_TYPES[".html"])
                return
            if path.startswith("/static/"):
                name = path.removeprefix("/static/")
                file = (STATIC / name).resolve()
                if file.is_relative_to(STATIC) and file.is_file() and file.suffix in CONTENT_TYPES:
                    self._send(HTTPStatus.OK, file.read_bytes(), CONTENT_TYPES[file.suffix])
                    return
                self._not_found(path)
                return
            if path == "/index/dates.json":
                self._send(HTTPStatus.OK, json.dumps(source.dates()).encode(), "application/json")
                return
            match = EXPORT_PATH.match(path)
            if match and ".." not in match.group(1):
                try:
                    body = source.read(match.group(1))
                except Exception as exc:  # the base URL failed: say so, do not hang the page
                    self._send(HTTPStatus.BAD_GATEWAY, json.dumps({"error": str(exc)}).encode(), "application/json")
                    return
                if body is not None:
                    self._send(HTTPStatus.OK, body, "application/json")
                    return
            self._not_found(path)

    return Handler


def make_server(source: ExportSource, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A bound server (``port=0`` picks a free port: ``server.server_address[1]``)."""
    server = ThreadingHTTPServer((host, port), _handler(source))
    server.daemon_threads = True
    return server


def serve_in_thread(source: ExportSource, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Start a server on a background thread; stop it with ``server.shutdown()``."""
    server = make_server(source, host, port)
    threading.Thread(target=server.serve_forever, name="nba-web", daemon=True).start()
    return server
