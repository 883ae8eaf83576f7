"""The fixed costs of a one-day ``make run`` stay cut, and cutting them changed no result:

- the local store's window cache (``LocalParquetStore(window_cache_bytes=...)``, on in the ``Lake``
  resource) keeps the storage contract, serves a window again only while none of its files
  changed (a write by any store of the process, or a file replaced behind its back) and hands out
  frames a consumer may change in place;
- the definitions without Dagster's component catalog (``NBA_COMPONENT_CATALOG=off``, ``make run``)
  are the same graph, and loading them imports no BigQuery, GCS or pandas;
- ``python -m nba_assets.instance`` imports no Dagster unless a run holds a pool slot.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between

from . import test_storage_contract as contract
from .conftest import BOX_SCORES

# The storage contract, run again on a store with the window cache: its tests, collected in this
# module, take this module's ``store`` fixture.
SCHEMA = contract.SCHEMA
globals().update(contract.suite())

REPO = Path(__file__).resolve().parent.parent
CACHE = 64 * 2**20


@pytest.fixture
def store(tmp_path) -> LocalParquetStore:
    return LocalParquetStore(tmp_path / "lake", window_cache_bytes=CACHE)


def _seeded(tmp_path: Path, raw_box: pl.DataFrame, cache: int = CACHE) -> tuple[LocalParquetStore, TableRef, list]:
    days = dates_between(date(2023, 12, 22), date(2023, 12, 28))
    ref = TableRef("nba_raw", "bdl_player_boxscores")
    cached = LocalParquetStore(tmp_path / "lake", window_cache_bytes=cache)
    cached.write_partitions(ref, raw_box.filter(pl.col("game_date").is_in(days)), days, SCHEMA)
    return cached, ref, days


def test_a_cached_window_is_the_window_read_from_the_files(tmp_path, raw_box) -> None:
    cached, ref, days = _seeded(tmp_path, raw_box)
    plain = LocalParquetStore(tmp_path / "lake")
    first = cached.read_window(ref, days, SCHEMA)
    again = cached.read_window(ref, days, SCHEMA)
    assert cached._cache.hits == 1 and cached._cache.misses == 1
    fresh = plain.read_window(ref, days, SCHEMA)
    assert first.equals(fresh) and again.equals(fresh) and again.schema == fresh.schema
    assert again.n_chunks() == fresh.n_chunks() == 1
    # Another window, another schema: other entries.
    cached.read_window(ref, days[:3], SCHEMA)
    assert cached._cache.misses == 2


def test_a_write_by_any_store_of_the_process_or_a_replaced_file_is_seen(tmp_path, raw_box) -> None:
    cached, ref, days = _seeded(tmp_path, raw_box)
    before = cached.read_window(ref, days, SCHEMA)
    # Another store instance of the process rewrites a day with fewer rows.
    other = LocalParquetStore(tmp_path / "lake")
    one = before.filter(pl.col("game_date") == days[1]).head(3)
    other.write_partitions(ref, one, [days[1]], SCHEMA)
    after = cached.read_window(ref, days, SCHEMA)
    assert after.equals(other.read_window(ref, days, SCHEMA))
    assert after.filter(pl.col("game_date") == days[1]).height == 3
    # A file replaced behind every store's back (another process): same size or not, a new inode.
    day = days[3]  # Dec 24 (days[2]) has no games
    path = cached.partition_file(ref, day)
    replacement = path.with_suffix(".new")
    before.filter(pl.col("game_date") == day).head(1).write_parquet(replacement)
    os.replace(replacement, path)
    seen = cached.read_window(ref, days, SCHEMA)
    assert seen.filter(pl.col("game_date") == day).height == 1
    # A partition written since the read (missing then) and a deleted one.
    later = dates_between(days[0], date(2023, 12, 29))
    cached.read_window(ref, later, SCHEMA)
    other.write_partitions(ref, raw_box.filter(pl.col("game_date") == later[-1]), [later[-1]], SCHEMA)
    assert cached.read_window(ref, later, SCHEMA).equals(other.read_window(ref, later, SCHEMA))
    other.delete_window(ref, days[0], days[0])
    assert cached.read_window(ref, days, SCHEMA).filter(pl.col("game_date") == days[0]).height == 0


def test_a_consumer_changing_its_frame_in_place_leaves_the_cache_as_read(tmp_path, raw_box) -> None:
    cached, ref, days = _seeded(tmp_path, raw_box)
    expected = LocalParquetStore(tmp_path / "lake").read_window(ref, days, SCHEMA)
    for _ in range(2):  # the miss's frame, then a hit's
        frame = cached.read_window(ref, days, SCHEMA)
        frame[0, "player_id"] = -1
        frame.insert_column(0, pl.Series("extra", [0] * frame.height))
        frame.drop_in_place("game_date")
    assert cached.read_window(ref, days, SCHEMA).equals(expected)


def test_the_cache_keeps_at_most_its_bytes(tmp_path, raw_box) -> None:
    probe, ref, days = _seeded(tmp_path, raw_box)
    days = [d for d in days if probe.read_window(ref, [d], SCHEMA).height][:4]
    sizes = [probe.read_window(ref, [d], SCHEMA).estimated_size() for d in days]
    cached = LocalParquetStore(tmp_path / "lake", window_cache_bytes=sizes[2] + sizes[3])  # the last two
    for day in days:
        cached.read_window(ref, [day], SCHEMA)
    assert cached._cache._bytes <= cached._cache.max_bytes and len(cached._cache._entries) == 2
    cached.read_window(ref, [days[3]], SCHEMA)  # the most recent one is still there
    assert cached._cache.hits == 1
    cached.read_window(ref, [days[0]], SCHEMA)  # the oldest one was dropped
    assert cached._cache.misses == 5
    assert LocalParquetStore(tmp_path / "lake", window_cache_bytes=1).read_window(ref, days, SCHEMA).height


def test_the_lake_resource_caches_and_a_bare_store_does_not(tmp_path) -> None:
    from nba_assets.lake import WINDOW_CACHE_BYTES

    from .conftest import local_lake

    assert local_lake(tmp_path / "lake").tables()._cache.max_bytes == WINDOW_CACHE_BYTES
    assert LocalParquetStore(tmp_path / "lake")._cache is None


# ------------------------------------------------------------------------------ the definitions


def test_the_definitions_without_the_component_catalog_are_the_same_graph(tmp_path) -> None:
    from nba_assets.config import Settings
    from nba_assets.definitions import build_definitions

    from .test_definitions_snapshot import snapshot

    with_catalog = build_definitions(settings=Settings(lake_dir=str(tmp_path)))
    without = build_definitions(settings=Settings(lake_dir=str(tmp_path), component_catalog=False))
    assert snapshot(without) == snapshot(with_catalog)
    assert set(without.resources) == set(with_catalog.resources)
    assert "plugin_component_types_json" in (with_catalog.metadata or {})
    assert "plugin_component_types_json" not in (without.metadata or {})


def _has_catalog(lake_dir: str) -> bool:
    from nba_assets.config import Settings
    from nba_assets.definitions import build_definitions

    return "plugin_component_types_json" in (build_definitions(settings=Settings(lake_dir=lake_dir)).metadata or {})


def test_a_run_worker_builds_no_catalog(tmp_path) -> None:
    """A code server starts each run in a spawned process (``multiprocessing``), which loads the
    definitions again and serves no UI: there the catalog is left out, the setting on; in the
    process itself it is built."""
    import multiprocessing

    assert _has_catalog(str(tmp_path)) is True
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # as Dagster's code server starts a run
        assert pool.apply(_has_catalog, (str(tmp_path),)) is False


def test_the_setting_reads_on_and_off() -> None:
    from nba_assets.config import settings_from_env

    assert settings_from_env({}).component_catalog is True
    assert settings_from_env({"NBA_COMPONENT_CATALOG": "off"}).component_catalog is False
    assert settings_from_env({"NBA_COMPONENT_CATALOG": "ON"}).component_catalog is True
    with pytest.raises(ValueError, match="NBA_COMPONENT_CATALOG='no': expected on or off"):
        settings_from_env({"NBA_COMPONENT_CATALOG": "no"})


def run_probe(code: str, env: dict[str, str]) -> tuple[str, set[str]]:
    """``code`` run in a fresh interpreter with ``env`` over this one's: what it printed, and the
    modules loaded once it ran."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,  # the bound test_summary's own subprocess had before it used this probe
    )
    *printed, modules = out.stdout.splitlines()
    return "\n".join(printed), set(modules.split())


def _modules_after(code: str, env: dict[str, str]) -> set[str]:
    return run_probe(code, env)[1]


def test_a_make_run_launch_loads_no_cloud_client(tmp_path) -> None:
    env = {"NBA_LAKE_DIR": str(tmp_path / "lake"), "NBA_COMPONENT_CATALOG": "off", "NBA_BACKEND": "local"}
    loaded = _modules_after("import nba_assets.definitions", env)
    assert "nba_assets.definitions" in loaded
    heavy = {"dagster_gcp", "google.cloud.bigquery", "google.cloud.storage", "pandas"} & loaded
    assert not heavy, heavy


def test_the_code_location_leaves_the_cyclic_gc_its_own_objects_only(tmp_path) -> None:
    env = {"NBA_LAKE_DIR": str(tmp_path / "lake"), "NBA_COMPONENT_CATALOG": "off"}
    code = "import gc, nba_assets.definitions\nprint(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) > 100_000


# ------------------------------------------------------------------------------ the instance step


def test_the_package_filters_dagsters_own_beta_warning() -> None:
    from dagster_shared.utils.warnings import BetaWarning

    assert dg.BetaWarning is BetaWarning


def test_the_instance_step_imports_no_dagster_unless_a_run_holds_a_slot(tmp_path) -> None:
    from nba_assets.instance import POOLS, _no_run_holds_slots, write_instance

    home = tmp_path / "home"
    step = (
        "import sys, runpy; sys.argv = ['instance', {home!r}]; "
        "runpy.run_module('nba_assets.instance', run_name='__main__')"
    )
    assert "dagster" not in _modules_after(step.format(home=str(home)), {})  # a fresh home
    assert _no_run_holds_slots(home)
    # An instance with history, no slot held: still no Dagster.
    write_instance(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.set_concurrency_slots(POOLS[0], 1)
        claim = instance.event_log_storage.claim_concurrency_slot(POOLS[0], "some-run", "some_step")
        assert claim.is_claimed
    assert (home / "history" / "runs" / "index.db").exists()
    assert not _no_run_holds_slots(home)  # a slot held: Dagster is asked
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.free_concurrency_slots_for_run("some-run")
    assert _no_run_holds_slots(home)
    assert "dagster" not in _modules_after(step.format(home=str(home)), {})


# ------------------------------------------------------------------------------ lightgbm without pandas

_LIGHTGBM_PROBE = """
import hashlib, sys
from datetime import date
import polars as pl
{before}
from nba_assets.predictors import gbm
rows = (
    pl.read_parquet({box_scores!r})
    .with_columns(pl.col("game_date").str.to_date())
    .filter(pl.col("game_date").is_between(date(2023, 10, 24), date(2024, 2, 4)) & (pl.col("minutes") > 0))
    .with_columns(pl.col("pts").alias("_target"))
    .sort("game_date", "game_id", "player_id")
)
# Library equivalence only: the box score's own counts stand in for features (not a model of anything).
columns = ["minutes", "fga", "fg3a", "fta", "ast", "reb", "tov", "plus_minus"]
trained = gbm.train_lightgbm(rows, columns, date(2024, 2, 5))
predicted = gbm.predict_lightgbm(trained.model_bytes, rows.tail(500), columns)
import lightgbm
print(hashlib.sha256(trained.model_bytes).hexdigest(), trained.n_trees, hashlib.sha256(predicted.tobytes()).hexdigest())
print(lightgbm.compat.PANDAS_INSTALLED, "pandas" in sys.modules)
"""


@pytest.mark.skipif(not BOX_SCORES.is_file(), reason="real data files are not present")
def test_lightgbm_loads_without_pandas_and_trains_and_predicts_the_same(tmp_path) -> None:
    """``gbm._lightgbm`` keeps lightgbm's import-time ``import pandas`` (~0.4 s) out of a process
    that has not loaded pandas; the model bytes, tree count and predictions are those of a process
    where lightgbm found pandas, and pandas still imports afterwards."""
    env = {"NBA_LAKE_DIR": str(tmp_path / "lake")}
    box = str(BOX_SCORES)
    without, loaded = run_probe(
        _LIGHTGBM_PROBE.format(before="", box_scores=box) + "import pandas\nprint(pandas.__name__)", env
    )
    with_pandas, _ = run_probe(_LIGHTGBM_PROBE.format(before="import pandas", box_scores=box), env)
    model, flags, after = without.splitlines()
    model_with, flags_with = with_pandas.splitlines()
    assert flags == "False False" and flags_with == "True True"  # lightgbm saw no pandas; then it imports
    assert after == "pandas" and "pandas" in loaded
    assert model == model_with
    digest, n_trees, _ = model.split()
    assert len(digest) == 64 and int(n_trees) >= 20
