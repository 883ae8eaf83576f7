"""Run the BigQuery emulator (``local-bigquery``, DuckDB inside) as a process on 127.0.0.1.

DuckDB cannot download its extensions here, so the ``duckdb-extension-*`` PyPI packages' files are
copied into ``$HOME/.duckdb/extensions/<version>/<platform>/`` of a temporary HOME given to the
emulator process only.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

EXTENSIONS = ("icu", "ducklake", "spatial", "json", "parquet")
PROJECT = "nba-emulated"


def missing_packages() -> list[str]:
    names = ["local_bigquery", "duckdb"] + [f"duckdb_extension_{e}" for e in EXTENSIONS]
    return [n for n in names if importlib.util.find_spec(n) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_home(home: Path) -> Path:
    """Copy every packaged ``.duckdb_extension`` where DuckDB looks for it under ``home``."""
    import duckdb

    platform = duckdb.execute("PRAGMA platform").fetchone()[0]
    target = home / ".duckdb" / "extensions" / f"v{duckdb.__version__}" / platform
    target.mkdir(parents=True, exist_ok=True)
    for ext in EXTENSIONS:
        spec = importlib.util.find_spec(f"duckdb_extension_{ext}")
        assert spec is not None and spec.submodule_search_locations
        files = list(Path(spec.submodule_search_locations[0]).glob("extensions/*/*.duckdb_extension"))
        if not files:
            raise RuntimeError(f"duckdb-extension-{ext} ships no .duckdb_extension file")
        shutil.copy2(files[0], target / files[0].name)
    return target


@dataclass
class Emulator:
    endpoint: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start(workdir: Path, timeout: float = 60.0) -> Emulator:
    home = workdir / "home"
    prepare_home(home)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    port, grpc_port = _free_port(), _free_port()
    log = workdir / "emulator.log"
    env = {**os.environ, "HOME": str(home)}
    cmd = [
        sys.executable,
        "-c",
        "from local_bigquery.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--grpc-port",
        str(grpc_port),
        "--project",
        PROJECT,
        "--data-dir",
        str(data),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the BigQuery emulator exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{endpoint}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2).status_code == 200:
                return Emulator(endpoint, process, log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the BigQuery emulator did not answer within {timeout:.0f}s: {log.read_text()[-2000:]}")
