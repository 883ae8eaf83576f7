"""A throwaway PostgreSQL server for the storage contract test and the bench.

Debian's PostgreSQL 15 server binaries (``apt-get install postgresql``; ``.ci/run`` installs them)
on a temporary data directory and a free loopback port. ``initdb`` and ``postgres`` refuse to run
as root (CI runs as root), so as root they run as the ``postgres`` system user of the Debian
package (``runuser -u postgres --``), with the data directory owned by it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path(os.environ.get("NBA_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"  # the unprivileged system user of Debian's postgresql package


def binaries_present() -> bool:
    return (PG_BIN / "postgres").is_file() and (PG_BIN / "initdb").is_file()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def running_postgres(durable: bool = False, startup_timeout_s: float = 30.0) -> Iterator[str]:
    """Start a server, yield its SQLAlchemy URL (database ``dagster``, the psycopg2 driver that
    dagster-postgres requires), stop it and delete its data.

    ``durable=False`` (the tests) turns fsync off; the bench passes ``durable=True`` (the server's
    defaults: fsync, synchronous_commit on)."""
    if not binaries_present():
        raise FileNotFoundError(f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="nba-pg-"))  # under /tmp: the server user can reach it
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam(PG_USER)
        for path in (root, data, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
    port = _free_port()
    log = root / "server.log"
    proc = None
    try:
        subprocess.run(
            _as_server_user(
                [str(PG_BIN / "initdb"), "-D", str(data), "-U", "dagster", "-A", "trust", "-E", "UTF8", "--no-sync"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sock}", "-p", str(port)]
        if not durable:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                _as_server_user([str(PG_BIN / "postgres"), "-D", str(data), *settings]),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + startup_timeout_s
        while True:
            ready = subprocess.run(
                _as_server_user([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"]),
                check=False,
            )
            if ready.returncode == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        subprocess.run(
            _as_server_user([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dagster", "dagster"]),
            check=True,
        )
        yield f"postgresql+psycopg2://dagster@127.0.0.1:{port}/dagster"
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()  # runuser forwards SIGTERM: the server's "smart" shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
