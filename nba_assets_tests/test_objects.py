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


def test_the_settings_pick_the_object_store():
    """``NBA_OBJECT_STORE`` (default ``gcs`` once ``NBA_GCS_BUCKET`` is set), read by the one settings
    function from the mapping it is given; the table backend does not move the objects."""
    from nba_assets.config import settings_from_env

    assert settings_from_env({"NBA_BACKEND": "bigquery"}).object_store == "local"
    gcs = settings_from_env({"NBA_GCS_BUCKET": BUCKET, "NBA_GCS_PREFIX": "p/", "STORAGE_EMULATOR_HOST": "x"})
    assert (gcs.object_store, gcs.gcs_bucket, gcs.gcs_prefix, gcs.gcs_emulated) == ("gcs", BUCKET, "p/", True)
    assert settings_from_env({"NBA_GCS_BUCKET": BUCKET, "NBA_OBJECT_STORE": "local"}).object_store == "local"


def test_the_lake_resource_mirrors_by_its_config(tmp_path, monkeypatch, gcs_emulator_host):
    from nba_assets.lake import Lake

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)  # the Google client's own switch
    local = Lake(lake_dir=str(tmp_path / "lake"))
    assert local.exports().mirror is None and local.landing().root == (tmp_path / "lake").resolve()
    with pytest.raises(ObjectStoreError, match="needs NBA_GCS_BUCKET"):
        Lake(lake_dir=str(tmp_path), object_store="gcs").exports()
    gcs = Lake(lake_dir=str(tmp_path), object_store="gcs", gcs_bucket=BUCKET, gcs_emulated=True)
    assert isinstance(gcs.landing().mirror, GcsObjectStore) and gcs.landing().mirror.bucket == BUCKET
    gcs_config = {"object_store": "gcs", "gcs_bucket": BUCKET, "gcs_emulated": True}
    public = Lake(lake_dir=str(tmp_path), gcs_exports_bucket="nba-public", **gcs_config)
    assert public.exports().mirror.bucket == "nba-public"
    assert public.landing().mirror.bucket == public.reports().mirror.bucket == BUCKET
    with pytest.raises(ObjectStoreError, match="expected 'local' or 'gcs'"):
        Lake(lake_dir=str(tmp_path), object_store="s3").exports()


def _gcs_lake(lake, prefix):
    from nba_assets.lake import Lake

    return Lake(lake_dir=str(lake), object_store="gcs", gcs_bucket=BUCKET, gcs_prefix=prefix, gcs_emulated=True)


def test_lake_objects_are_local_files_copied_to_gcs(tmp_path, monkeypatch, gcs_emulator_host, real_game):
    from nba_assets.lake import Lake

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    lake = tmp_path / "lake"
    key = "exports/v1/tonight/all-players.json"
    path = Lake(lake_dir=str(lake)).exports().put_json(key, real_game)
    assert path == (lake / key).resolve() and json.loads(path.read_text()) == real_game  # local: the file is the object
    prefix = f"mirror-{uuid.uuid4().hex[:8]}"
    exports = _gcs_lake(lake, prefix).exports()
    exports.put_json(key, real_game)
    store = GcsObjectStore(BUCKET, prefix=prefix)
    assert json.loads(store.get(key)) == real_game == json.loads((lake / key).read_text())
    assert store.cache_control(key) == objects.TONIGHT_CACHE
    assert store.get(key) == (lake / key).read_bytes()  # the same bytes in both places
    landed = lake / "landing" / "bdl" / "2024-11-01" / "x.json.gz"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(gzip.compress(b"{}", mtime=0))
    landing = _gcs_lake(lake, prefix).landing()
    assert landing.copy_file(landed, if_absent=True) == f"gs://{BUCKET}/{prefix}/landing/bdl/2024-11-01/x.json.gz"
    assert store.cache_control("landing/bdl/2024-11-01/x.json.gz") == objects.LANDING_CACHE
    with pytest.raises(ObjectExistsError):
        landing.copy_file(landed, if_absent=True)
    with pytest.raises(ObjectStoreError, match="is not under the lake"):
        landing.copy_file(tmp_path / "elsewhere.json")


def test_a_replaced_folder_is_swapped_locally_and_each_file_mirrored(tmp_path, monkeypatch, gcs_emulator_host):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)
    lake, prefix = tmp_path / "lake", f"folder-{uuid.uuid4().hex[:8]}"
    exports = _gcs_lake(lake, prefix).exports()
    folder = "exports/v1/tonight/player"
    exports.replace_folder(folder, {"a": {"n": 1}, "b": {"n": 2}})
    exports.replace_folder(folder, {"b": {"n": 3}})
    assert exports.list(folder + "/") == [f"{folder}/b.json"]  # a's local file is gone with the old folder
    assert json.loads(exports.get(f"{folder}/b.json")) == {"n": 3}
    store = GcsObjectStore(BUCKET, prefix=prefix)
    assert json.loads(store.get(f"{folder}/b.json")) == {"n": 3}
    assert store.cache_control(f"{folder}/b.json") == objects.TONIGHT_CACHE
