"""The object store seam (landing zone, JSON exports): local directory and GCS, one contract.

GCS runs against ``gcp-storage-emulator`` (a PyPI package, pure Python, offline) on 127.0.0.1,
started once per session; a live bucket is opt-in (``NBA_GCS_TEST_BUCKET`` + credentials).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import date

import httpx
import polars as pl
import pytest

from nba_assets.io import objects
from nba_assets.io.objects import GcsObjectStore, LocalObjectStore, ObjectExistsError, ObjectStoreError

BUCKET = "nba-exports-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_emulator_host(tmp_path_factory):
    if importlib.util.find_spec("gcp_storage_emulator") is None:
        pytest.skip("gcp-storage-emulator is not installed (run make setup)")
    port = _free_port()
    log = tmp_path_factory.mktemp("gcs-emulator") / "emulator.log"
    cmd = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--in-memory", "--default-bucket", BUCKET, "--quiet"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    host = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the GCS emulator exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{host}/storage/v1/b/{BUCKET}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the GCS emulator did not answer: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield host
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["local", "gcs", pytest.param("gcs-live", marks=pytest.mark.integration)])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    prefix = f"test-{uuid.uuid4().hex[:8]}/"
    if request.param == "gcs":
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", request.getfixturevalue("gcs_emulator_host"))
        return GcsObjectStore(BUCKET, prefix=prefix)
    bucket = os.environ.get("NBA_GCS_TEST_BUCKET")
    if not bucket:
        pytest.skip("live GCS: set NBA_GCS_TEST_BUCKET (and Application Default Credentials) to run")
    return GcsObjectStore(bucket, prefix=prefix)


@pytest.fixture(scope="module")
def real_game(box_scores) -> dict:
    """One real game's points by player, as a JSON document."""
    game = box_scores.filter(pl.col("game_id") == box_scores["game_id"][0]).sort("player_id")
    return {"game_id": game["game_id"][0], "players": game.select("player_name", "team", "pts").to_dicts()}


def test_put_get_list_and_replace(store, real_game):
    key = "exports/v1/predictions/2024-11-01.json"
    uri = objects.put_json(store, key, real_game)
    assert uri.endswith(key) and store.exists(key)
    assert json.loads(store.get(key)) == real_game
    objects.put_json(store, key, {**real_game, "players": real_game["players"][:2]})  # a rerun replaces
    assert len(json.loads(store.get(key))["players"]) == 2
    objects.put_json(store, "exports/v1/tonight/all-players.json", real_game)
    assert store.list("exports/v1/") == [
        "exports/v1/predictions/2024-11-01.json",
        "exports/v1/tonight/all-players.json",
    ]
    assert store.list("exports/v1/predictions/") == [key]
    assert store.list("landing/") == [] and not store.exists("exports/v1/predictions/2024-11-02.json")


def test_landing_objects_are_write_once(store, real_game):
    key = "landing/bdl/2024-11-01/20241101T120000000000Z-abcdef.json.gz"
    body = gzip.compress(json.dumps(real_game).encode(), mtime=0)
    store.put(key, body, if_absent=True)
    with pytest.raises(ObjectExistsError, match="already exists"):
        store.put(key, b"other", if_absent=True)
    assert json.loads(gzip.decompress(store.get(key))) == real_game


def test_bad_keys_and_missing_objects_are_named(store):
    for bad in ("/abs.json", "exports/../x.json", "exports//x.json", ""):
        with pytest.raises(ObjectStoreError, match="invalid object key"):
            store.put(bad, b"{}")
    with pytest.raises(ObjectStoreError, match=r"exports/v1/nothing\.json does not exist"):
        store.get("exports/v1/nothing.json")


def test_gcs_objects_carry_cache_control_and_content_type(gcs_emulator_host, monkeypatch, real_game):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    store = GcsObjectStore(BUCKET, prefix=f"test-{uuid.uuid4().hex[:8]}")
    old_day = "exports/v1/results/2024-11-01.json"
    tonight = "exports/v1/tonight/all-players.json"
    landing = "landing/odds_api/2024-11-01/20241101T120000000000Z-abcdef.json.gz"
    objects.put_json(store, old_day, real_game)
    objects.put_json(store, tonight, real_game)
    store.put(landing, gzip.compress(b"{}", mtime=0), if_absent=True)
    assert store.cache_control(old_day) == objects.SETTLED_DAY_CACHE == "public, max-age=86400"
    assert store.cache_control(tonight) == objects.TONIGHT_CACHE == "public, max-age=60"
    assert store.cache_control(landing) == objects.LANDING_CACHE
    blob = store.client.bucket(BUCKET).get_blob(store.name(old_day))
    assert blob.content_type.split(";")[0] == "application/json"  # the emulator drops the charset
    assert store.client.bucket(BUCKET).get_blob(store.name(landing)).content_type == objects.GZIP
    assert store.uri(tonight) == f"gs://{BUCKET}/{store.prefix}{tonight}"


def test_cache_control_by_kind():
    today = date(2024, 11, 10)
    assert objects.cache_control_for("exports/v1/tonight/all-players.json", today) == "public, max-age=60"
    assert objects.cache_control_for("exports/v1/predictions/2024-11-10.json", today) == "public, max-age=300"
    assert objects.cache_control_for("exports/v1/predictions/2024-11-09.json", today) == "public, max-age=300"
    assert objects.cache_control_for("exports/v1/predictions/2024-11-08.json", today) == "public, max-age=86400"
    assert objects.cache_control_for("exports/v1/results/2024-10-30.json", today) == "public, max-age=86400"
    assert objects.cache_control_for("landing/bdl/2024-11-10/x.json.gz", today) == "private, no-cache, no-store"
    assert objects.content_type_for("landing/bdl/2024-11-10/x.json.gz") == "application/gzip"


def test_object_store_from_env(tmp_path, monkeypatch, gcs_emulator_host):
    for var in ("NBA_BACKEND", "NBA_OBJECT_STORE", "NBA_GCS_BUCKET", "NBA_GCS_PREFIX", "NBA_GCS_EXPORTS_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NBA_LAKE_DIR", str(tmp_path / "lake"))
    local = objects.object_store_from_env()
    assert isinstance(local, LocalObjectStore) and local.root == (tmp_path / "lake").resolve()
    monkeypatch.setenv("NBA_BACKEND", "bigquery")  # the table backend does not move the objects
    assert isinstance(objects.object_store_from_env(), LocalObjectStore)
    monkeypatch.setenv("NBA_OBJECT_STORE", "gcs")
    with pytest.raises(ObjectStoreError, match="needs NBA_GCS_BUCKET"):
        objects.object_store_from_env()
    monkeypatch.delenv("NBA_OBJECT_STORE")
    monkeypatch.setenv("NBA_GCS_BUCKET", BUCKET)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    gcs = objects.object_store_from_env()
    assert isinstance(gcs, GcsObjectStore) and gcs.bucket == BUCKET
    monkeypatch.setenv("NBA_GCS_EXPORTS_BUCKET", "nba-public")
    assert objects.object_store_from_env(purpose="exports").bucket == "nba-public"
    assert objects.object_store_from_env(purpose="landing").bucket == BUCKET
    monkeypatch.setenv("NBA_OBJECT_STORE", "s3")
    with pytest.raises(ObjectStoreError, match="expected 'local' or 'gcs'"):
        objects.object_store_from_env()


def test_mirror_file_copies_lake_files_to_gcs(tmp_path, monkeypatch, gcs_emulator_host, real_game):
    lake = tmp_path / "lake"
    monkeypatch.setenv("NBA_LAKE_DIR", str(lake))
    for var in ("NBA_BACKEND", "NBA_OBJECT_STORE", "NBA_GCS_EXPORTS_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    exported = lake / "exports" / "v1" / "tonight" / "all-players.json"
    exported.parent.mkdir(parents=True)
    exported.write_text(json.dumps(real_game))
    assert objects.mirror_file(exported, purpose="exports") is None  # local store: the file is the object
    prefix = f"mirror-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("NBA_OBJECT_STORE", "gcs")
    monkeypatch.setenv("NBA_GCS_BUCKET", BUCKET)
    monkeypatch.setenv("NBA_GCS_PREFIX", prefix)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    uri = objects.mirror_file(exported, purpose="exports")
    assert uri == f"gs://{BUCKET}/{prefix}/exports/v1/tonight/all-players.json"
    store = GcsObjectStore(BUCKET, prefix=prefix)
    assert json.loads(store.get("exports/v1/tonight/all-players.json")) == real_game
    assert store.cache_control("exports/v1/tonight/all-players.json") == objects.TONIGHT_CACHE
    landed = lake / "landing" / "bdl" / "2024-11-01" / "x.json.gz"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(gzip.compress(b"{}", mtime=0))
    objects.mirror_file(landed, purpose="landing", if_absent=True)
    with pytest.raises(ObjectExistsError):
        objects.mirror_file(landed, purpose="landing", if_absent=True)
    with pytest.raises(ObjectStoreError, match="is not under the lake"):
        objects.mirror_file(tmp_path / "elsewhere.json", purpose="exports")
    other_lake = tmp_path / "other" / "exports" / "v1" / "results" / "2024-11-01.json"
    other_lake.parent.mkdir(parents=True)
    other_lake.write_text(json.dumps(real_game))
    assert objects.mirror_file(other_lake, purpose="exports").endswith(f"{prefix}/exports/v1/results/2024-11-01.json")


def test_exports_write_json_lands_in_gcs_with_its_cache_control(tmp_path, monkeypatch, gcs_emulator_host, real_game):
    from nba_assets.transforms.exports import write_json

    lake = tmp_path / "lake"
    prefix = f"exports-{uuid.uuid4().hex[:8]}"
    for var in ("NBA_OBJECT_STORE", "NBA_GCS_EXPORTS_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NBA_LAKE_DIR", str(lake))
    monkeypatch.setenv("NBA_GCS_BUCKET", BUCKET)
    monkeypatch.setenv("NBA_GCS_PREFIX", prefix)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    write_json(lake / "exports" / "v1" / "tonight" / "all-players.json", real_game)
    store = GcsObjectStore(BUCKET, prefix=prefix)
    assert json.loads(store.get("exports/v1/tonight/all-players.json")) == real_game
    assert store.cache_control("exports/v1/tonight/all-players.json") == objects.TONIGHT_CACHE
    assert json.loads((lake / "exports" / "v1" / "tonight" / "all-players.json").read_text()) == real_game
