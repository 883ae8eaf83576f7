"""Issue 14's Done-when, as a user meets it: ``make run`` against the real-service interface.

``NBA_REPLAY_DIR=`` (empty: the real clients), dummy API keys, and the four base URLs pointed at a
loopback HTTP proxy in front of ``python -m nba_assets.replay serve`` (an archive cut from the real
data of 2024-11-25..2024-12-08). The proxy passes every request through, except that balldontlie's
``/v1/stats`` for one game day answers a non-numeric ``pts`` (the real value as a JSON string) in
one row. ``make run`` of the 14 days into a fresh lake and instance (subprocess, the whole graph,
one ``dg launch``) then:

- lands every other game day's box scores, and none of the bad day's;
- predicts the last day;
- names the bad day (and the file and field) in the run's output;
- stores later days' feature rows saying the bad day is missing from their history.

With the fault gone, ``make run`` of that one day fills it, and the documented recovery (one
backfill from the bad day through the last day) leaves no feature row with a missing history day.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

from nba_assets.gameday import child_env
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import build_archive
from nba_assets.schemas import schema_for
from nba_assets.transforms.analytics import is_dnp

from .conftest import BOX_SCORES, LINES, REPO

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

FIRST, LAST = date(2024, 11, 25), date(2024, 12, 8)
BAD_DAY = date(2024, 11, 26)
DAYS = dates_between(FIRST, LAST)
BOX = TableRef("nba_raw", "bdl_player_boxscores")
STORE = TableRef("nba_precompute", "ml_feature_store")
PREDICTIONS = TableRef("nba_predictions", "player_prop_predictions")


class FaultProxy:
    """A loopback HTTP proxy in front of the replay server. While ``bad_day`` is set, balldontlie's
    ``/v1/stats`` for that date gets a non-numeric ``pts`` (the first non-zero one, as a string)."""

    def __init__(self, upstream: str, bad_day: date | None) -> None:
        self.upstream = upstream.rstrip("/")
        self.bad_day = bad_day
        self.faulted: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                request = urllib.request.Request(proxy.upstream + self.path, headers=dict(self.headers))
                try:
                    with urllib.request.urlopen(request, timeout=60) as reply:
                        status, headers, body = reply.status, reply.headers, reply.read()
                except urllib.error.HTTPError as error:
                    status, headers, body = error.code, error.headers, error.read()
                body = proxy.fault(self.path, status, body)
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding", "connection", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fault(self, path: str, status: int, body: bytes) -> bytes:
        url = urlsplit(path)
        if self.bad_day is None or status != 200 or not url.path.endswith("/v1/stats"):
            return body
        if self.bad_day.isoformat() not in parse_qs(url.query).get("dates[]", []):
            return body
        page = json.loads(body)
        for row in page.get("data", []):
            if row.get("pts"):
                row["pts"] = str(row["pts"])  # "23" where 23 belongs
                self.faulted.append(path)
                break
        return json.dumps(page).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def replay_url(tmp_path_factory: pytest.TempPathFactory):
    """``python -m nba_assets.replay serve`` of an archive cut from the real data of FIRST..LAST."""
    d = tmp_path_factory.mktemp("scenario")
    keep = pl.col("game_date").is_between(pl.lit(FIRST.isoformat()), pl.lit(LAST.isoformat()))
    pl.read_parquet(BOX_SCORES).filter(keep).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(d / "lines.parquet")
    archive = build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nba_assets.replay", "serve", "--dir", str(archive), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() is not None else "")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _make_run(first: date, last: date, home: Path, lake: Path, proxy: FaultProxy) -> tuple[str, float]:
    """``make run START=first END=last`` against the real-service interface; (its output, seconds)."""
    env = child_env(
        home,
        lake,
        None,
        drop=("NBA_GCS_BUCKET", "MAKEFLAGS", "MFLAGS"),
        BALLDONTLIE_API_KEY="dummy-bdl-key",
        ODDS_API_KEY="dummy-odds-key",
        BALLDONTLIE_BASE_URL=proxy.url,
        NBA_CDN_BASE_URL=proxy.url,
        NBA_STATS_BASE_URL=proxy.url,
        ODDS_API_BASE_URL=proxy.url,
    )
    started = time.monotonic()
    done = subprocess.run(
        ["make", "--no-print-directory", "run", f"START={first}", f"END={last}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    return output, time.monotonic() - started


def test_a_bad_pts_on_one_day_of_a_14_day_make_run_holds_back_that_day_only(
    replay_url: str, tmp_path: Path, box_scores: pl.DataFrame
) -> None:
    home, lake = tmp_path / "dagster_home", tmp_path / "lake"
    proxy = FaultProxy(replay_url, BAD_DAY)
    try:
        output, seconds = _make_run(FIRST, LAST, home, lake, proxy)
    finally:
        proxy.close()
    print(f"make run {FIRST}..{LAST} with the fault: {seconds:.0f} s")
    assert proxy.faulted, "the proxy never saw the bad day's stats request"

    store = LocalParquetStore(lake)
    real = box_scores.filter(pl.col("game_date").is_between(FIRST, LAST))
    real = real.filter(~is_dnp(real))  # the raw parser keeps a stat line with 0 whole minutes, as here
    game_days = sorted(set(real["game_date"]))
    assert BAD_DAY in game_days and len(game_days) >= 12

    # Every other game day's box scores landed, whole; the bad day has none (no partition at all).
    assert store.missing_partitions(BOX, DAYS) == [BAD_DAY]
    stored = store.read_window(BOX, DAYS, schema_for(BOX.dataset, BOX.table))
    for day in game_days:
        want = 0 if day == BAD_DAY else real.filter(pl.col("game_date") == day).height
        assert stored.filter(pl.col("game_date") == day).height == want, day

    # The last day is predicted.
    predictions = store.read_window(PREDICTIONS, [LAST], schema_for(PREDICTIONS.dataset, PREDICTIONS.table))
    assert predictions.height > 0 and predictions["player_lookup"].n_unique() > 50

    # The run's output names the bad day, the landing file and the field.
    assert f"held back nba_raw/bdl_player_boxscores for {BAD_DAY}" in output, output[-5000:]
    assert f"landing/balldontlie/{BAD_DAY}/" in output and ".pts" in output

    # Later days' feature rows say that day is missing from their history; earlier days' do not.
    features = store.read_window(STORE, DAYS, schema_for(STORE.dataset, STORE.table))
    later = features.filter(pl.col("game_date") > BAD_DAY)
    assert later.height > 0
    assert (later["missing_history_dates"] == BAD_DAY.isoformat()).all()
    # (a fresh lake: the first days have no expected players yet, hence no feature rows)
    assert (features.filter(pl.col("game_date") <= BAD_DAY)["missing_history_dates"] == "").all()

    # With the fault gone, `make run` of that one day fills it.
    proxy = FaultProxy(replay_url, None)
    try:
        _, seconds = _make_run(BAD_DAY, BAD_DAY, home, lake, proxy)
    finally:
        proxy.close()
    print(f"make run {BAD_DAY} without the fault: {seconds:.0f} s")
    assert store.missing_partitions(BOX, DAYS) == []
    filled = store.read_window(BOX, [BAD_DAY], schema_for(BOX.dataset, BOX.table))
    assert filled.height == real.filter(pl.col("game_date") == BAD_DAY).height

    # The documented recovery: one backfill from the bad day through the last day with data brings
    # the later days' features up to date (their history now has the day).
    proxy = FaultProxy(replay_url, None)
    try:
        _, seconds = _make_run(BAD_DAY, LAST, home, lake, proxy)
    finally:
        proxy.close()
    print(f"make run {BAD_DAY}..{LAST} (the recovery backfill): {seconds:.0f} s")
    features = store.read_window(STORE, DAYS, schema_for(STORE.dataset, STORE.table))
    assert features.filter(pl.col("game_date") > BAD_DAY).height >= later.height  # (its rosters count too)
    assert (features["missing_history_dates"] == "").all()
