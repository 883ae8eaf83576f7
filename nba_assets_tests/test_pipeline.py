"""End to end: the whole asset graph, run by Dagster against a replay archive cut from the real data.

One archive is built per module from cuts of ``data/`` (no invented rows): box scores of
2023-10-24..2023-10-31 (a year before the main range: each run's history frame then holds
different rows, which a day's rows must not depend on), 2024-04-01..2024-04-14 (last season:
history for rosters and features) and 2024-10-21..2024-11-12, lines of 2024-10-21..2024-11-12.
The main lake is filled by three single-run backfills (the two history windows, then the main
range); the other tests copy it or build small lakes of their own, so each run is paid once.
"""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.assets import precompute
from nba_assets.io.manager import LakehouseIOManager
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between, game_date_partitions
from nba_assets.replay import build_archive
from nba_assets.schemas import TABLES, schema_for

from .conftest import BOX_SCORES, LINES, lake_settings, local_lake

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"),
]

# 2023-24's first week: exactly a year before the main range, so the history frame a run is handed
# (365 days before its first day, through its last) holds different rows for MAIN, SUB_RANGE and
# single days; each day's rows must not depend on that (issue 11).
EARLY = (date(2023, 10, 24), date(2023, 10, 31))
HISTORY = (date(2024, 4, 1), date(2024, 4, 14))  # 2023-24: 12 game days, 2024-04-13 has none
MAIN = (date(2024, 10, 21), date(2024, 11, 12))  # 2024-25 opens 10-22; 10-21 and 11-05 have no games
LEAK_DAY = date(2024, 10, 25)
BAD_DAY = date(2024, 11, 1)
INCREMENTAL = dates_between(MAIN[0], date(2024, 10, 24))
SUB_RANGE = (date(2024, 10, 28), date(2024, 10, 31))
MAIN_DAYS = dates_between(*MAIN)
LAKE_TABLES = sorted(TABLES)
TIMESTAMPS = ("created_at", "graded_at")
RECOMMENDATIONS = {"OVER", "UNDER", "PASS", "NO_LINE"}
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


# ------------------------------------------------------------------------------------- helpers


def _run(
    lake: Path,
    archive: Path,
    home: Path,
    first: date,
    last: date,
    *,
    raise_on_error: bool = True,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the whole graph over ``first..last``, as ``make run`` does it (settings, then definitions)."""
    home.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        mp.setenv("DAGSTER_HOME", str(home))  # Dagster's own switch
        from nba_assets.definitions import build_definitions

        if instance is None:
            instance = stack.enter_context(dg.DagsterInstance.ephemeral())
        settings = lake_settings(lake, replay_dir=str(archive))
        job = build_definitions(settings=settings).resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            instance=instance,
            tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
            raise_on_error=raise_on_error,
        )


def _definitions(main: MainLake) -> dg.Definitions:
    from nba_assets.definitions import build_definitions

    return build_definitions(settings=lake_settings(main.lake, replay_dir=str(main.archive)))


def _read(lake: Path, key: tuple[str, str], days: list[date]) -> pl.DataFrame:
    return LocalParquetStore(lake).read_window(TableRef(*key), days, schema_for(*key))


def _stored(lake: Path, key: tuple[str, str]) -> list[date]:
    return LocalParquetStore(lake).stored_partitions(TableRef(*key))


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    frame = frame.drop([c for c in TIMESTAMPS if c in frame.columns])
    return frame.sort(frame.columns, nulls_last=True)


def _assert_same_rows(a: pl.DataFrame, b: pl.DataFrame, what: str) -> None:
    try:
        assert_frame_equal(_canonical(a), _canonical(b), check_exact=True)  # bit for bit
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


def _assert_same_lake(lake_a: Path, lake_b: Path, days: list[date], what: str) -> None:
    for key in LAKE_TABLES:
        _assert_same_rows(_read(lake_a, key, days), _read(lake_b, key, days), f"{what}: {'.'.join(key)}")


def _export(lake: Path, *parts: str) -> dict:
    return json.loads(lake.joinpath("exports", "v1", *parts).read_text())


def _without_generated_at(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "generated_at"}


# ------------------------------------------------------------------------------------ fixtures


def _write_cut(path: Path, source: Path, keep: pl.Expr) -> Path:
    pl.read_parquet(source).filter(keep).write_parquet(path)
    return path


def _between(first: date, last: date) -> pl.Expr:
    return pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline")


@pytest.fixture(scope="module")
def archive(workdir: Path) -> Path:
    box = _write_cut(workdir / "box.parquet", BOX_SCORES, _between(*EARLY) | _between(*HISTORY) | _between(*MAIN))
    lines = _write_cut(workdir / "lines.parquet", LINES, _between(*MAIN))
    return build_archive([box], [lines], workdir / "replay")


@pytest.fixture(scope="module")
def game_days() -> set[date]:
    days = pl.read_parquet(BOX_SCORES, columns=["game_date"]).filter(_between(*MAIN))["game_date"]
    return {date.fromisoformat(d) for d in days.unique()}


@dataclass
class MainLake:
    lake: Path
    history_snapshot: Path  # the lake as it was after the history run, before the main run
    archive: Path
    home: Path
    result: dg.ExecuteInProcessResult
    instance: dg.DagsterInstance


@pytest.fixture(scope="module")
def main_lake(workdir: Path, archive: Path):
    lake, home = workdir / "lake", workdir / "dagster_home"
    for window in (EARLY, HISTORY):
        assert _run(lake, archive, home, *window).success, window
    snapshot = workdir / "lake_after_history"
    shutil.copytree(lake, snapshot)
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(lake, archive, home, *MAIN, instance=instance)
        yield MainLake(lake, snapshot, archive, home, result, instance)


# --------------------------------------------------------------------------------------- tests


def test_range_run_materializes_every_partition_and_the_exports(main_lake: MainLake, game_days: set[date]) -> None:
    lake = main_lake.lake
    assert main_lake.result.success
    assert len(game_days) == len(MAIN_DAYS) - 2  # two days of the range have no game

    # Every table has a partition file for every day of the range; days without games are empty.
    store = LocalParquetStore(lake)
    for key in LAKE_TABLES:
        table = TableRef(*key)
        assert store.missing_partitions(table, MAIN_DAYS) == [], key
        frame = _read(lake, key, MAIN_DAYS)
        assert frame.schema == schema_for(*key)
        assert set(frame["game_date"].unique()) <= game_days, key
        for day in sorted(set(MAIN_DAYS) - game_days):
            assert pl.read_parquet(store.partition_file(table, day)).height == 0, (key, day)
    schedule = _read(lake, ("nba_raw", "nbac_schedule"), MAIN_DAYS)
    assert set(schedule["game_date"].unique()) == game_days
    for key in [
        ("nba_raw", "bdl_player_boxscores"),
        ("nba_analytics", "player_game_summary"),
        ("nba_precompute", "ml_feature_store"),
        ("nba_predictions", "player_prop_predictions"),
    ]:
        assert set(_read(lake, key, MAIN_DAYS)["game_date"].unique()) == game_days, key
    assert (lake / "nba_predictions/player_prop_predictions/game_date=2024-11-12/part-0.parquet").is_file()

    # Predictions: one row per (game_date, player_id, system_id), coherent recommendations.
    predictions = _read(lake, ("nba_predictions", "player_prop_predictions"), MAIN_DAYS)
    keys = ["game_date", "player_id", "system_id"]
    dupes = predictions.filter(pl.struct(keys).is_duplicated())
    assert dupes.height == 0, dupes.select(*keys, "game_id", "player_lookup", "points_line", "line_source")
    assert predictions["player_id"].null_count() == 0
    assert set(predictions["recommendation"].unique()) == RECOMMENDATIONS  # every kind occurs in 3 weeks
    no_line = predictions["recommendation"] == "NO_LINE"
    assert (no_line == predictions["points_line"].is_null()).all()
    lined = predictions.filter(pl.col("points_line").is_not_null() & (pl.col("system_id") == "moving_average"))
    big_edge = ((lined["predicted_points"] - lined["points_line"]).abs() > 2.0).fill_null(False)
    called = lined["recommendation"].is_in(["OVER", "UNDER"])
    # A moving-average call needs an edge above 2 points, and its calibrated P(over) must not
    # point the other way (issue 16): every call has the edge, not every edge is a call.
    assert (~called | big_edge).all()
    contradicted = (
        ((lined["recommendation"] == "OVER") & (lined["p_over"] < 0.5))
        | ((lined["recommendation"] == "UNDER") & (lined["p_over"] > 0.5))
    ).fill_null(False)
    assert not contradicted.any()
    over = lined.filter(pl.col("recommendation") == "OVER")
    assert (over["predicted_points"] - over["points_line"] > 2.0).all()
    assert (over["edge"] == over["predicted_points"] - over["points_line"]).all()
    under = lined.filter(pl.col("recommendation") == "UNDER")
    assert (under["predicted_points"] - under["points_line"] < -2.0).all()
    # Predicted games are the scheduled games of that day.
    assert (
        predictions.select("game_date", "game_id")
        .unique()
        .join(schedule.select("game_date", "game_id"), on=["game_date", "game_id"], how="anti")
        .height
        == 0
    )

    # Exports: one file per game day of the range, none for days without games; tonight = last game day.
    for day in MAIN_DAYS:
        path = lake / "exports" / "v1" / "predictions" / f"{day.isoformat()}.json"
        assert path.is_file() == (day in game_days), day
    day = max(game_days)
    document = _export(lake, "predictions", f"{day.isoformat()}.json")
    assert document["game_date"] == day.isoformat() and len(document["systems"]) == 6  # six systems
    day_schedule = schedule.filter(pl.col("game_date") == day)
    assert sorted(g["game_id"] for g in document["games"]) == sorted(day_schedule["game_id"])
    day_predictions = predictions.filter(pl.col("game_date") == day)
    assert sum(len(g["players"]) for g in document["games"]) == day_predictions["player_id"].n_unique()
    tonight = _export(lake, "tonight", "all-players.json")
    assert tonight["game_date"] == max(game_days).isoformat() == "2024-11-12"
    assert _without_generated_at(tonight) == _without_generated_at(document)


def _all_tables(lake: Path) -> dict[tuple[str, str], pl.DataFrame]:
    return {key: _read(lake, key, _stored(lake, key)) for key in LAKE_TABLES}


def test_rerunning_the_range_or_a_sub_range_changes_no_row(main_lake: MainLake, workdir: Path) -> None:
    before = _all_tables(main_lake.lake)
    exports_before = {
        p.name: _without_generated_at(json.loads(p.read_text()))
        for p in (main_lake.lake / "exports" / "v1" / "predictions").glob("*.json")
    }
    lake = workdir / "lake_rerun"
    shutil.copytree(main_lake.lake, lake)

    for first, last in (MAIN, SUB_RANGE):
        assert _run(lake, main_lake.archive, main_lake.home, first, last).success
        after = _all_tables(lake)
        for key in LAKE_TABLES:
            assert _stored(lake, key) == _stored(main_lake.lake, key), key
            _assert_same_rows(after[key], before[key], f"rerun {first}..{last}: {'.'.join(key)}")

    # The reruns did write: the sub-range's predictions were made again (later created_at).
    sub = dates_between(*SUB_RANGE)
    old = _read(main_lake.lake, ("nba_predictions", "player_prop_predictions"), sub)["created_at"]
    new = _read(lake, ("nba_predictions", "player_prop_predictions"), sub)["created_at"]
    assert new.len() == old.len() > 0 and new.min() > old.max()
    # Same documents; a sub-range rerun does not move tonight back in time.
    exports_after = {
        p.name: _without_generated_at(json.loads(p.read_text()))
        for p in (lake / "exports" / "v1" / "predictions").glob("*.json")
    }
    assert exports_after == exports_before
    assert _export(lake, "tonight", "all-players.json")["game_date"] == "2024-11-12"


def test_day_by_day_runs_equal_the_range_run(main_lake: MainLake, workdir: Path) -> None:
    lake = workdir / "lake_incremental"
    shutil.copytree(main_lake.history_snapshot, lake)
    for day in INCREMENTAL:
        assert _run(lake, main_lake.archive, main_lake.home, day, day).success, day
    for key in LAKE_TABLES:
        assert LocalParquetStore(lake).missing_partitions(TableRef(*key), INCREMENTAL) == [], key
    _assert_same_lake(lake, main_lake.lake, INCREMENTAL, "day by day vs range")
    assert _read(lake, ("nba_predictions", "player_prop_predictions"), INCREMENTAL).height > 0


def test_features_and_predictions_for_d_ignore_d_box_scores(main_lake: MainLake, workdir: Path) -> None:
    """The archive of the second lake ends at D and its balldontlie stats for D are gone.

    The replay schedule is derived from the box scores, so D's rows stay in the input (its games
    must stay scheduled) and the stats body of D is removed from the built archive instead: the
    API answers D's stats with no rows, as it does before the games are played.
    """
    d = LEAK_DAY
    cut = workdir / "leak"
    cut.mkdir()
    box = _write_cut(cut / "box.parquet", BOX_SCORES, _between(*EARLY) | _between(*HISTORY) | _between(MAIN[0], d))
    lines = _write_cut(cut / "lines.parquet", LINES, _between(MAIN[0], d))
    archive = build_archive([box], [lines], cut / "replay")
    stats = archive / "balldontlie" / "v1" / "stats"
    (stats / f"{d.isoformat()}.json").unlink()
    assert max(p.stem for p in stats.glob("*.json")) == (d - timedelta(days=1)).isoformat()

    lake = cut / "lake"
    for window in (EARLY, HISTORY, (MAIN[0], d)):
        assert _run(lake, archive, main_lake.home, *window).success, window

    full, blind = main_lake.lake, lake
    box_key = ("nba_raw", "bdl_player_boxscores")
    assert _read(full, box_key, [d]).height > 0 and _read(blind, box_key, [d]).height == 0
    for key in [
        ("nba_raw", "nbac_schedule"),
        ("nba_raw", "odds_api_player_points_props"),
        ("nba_precompute", "ml_feature_store"),
        ("nba_predictions", "player_prop_predictions"),
    ]:
        assert _read(full, key, [d]).height > 0, key
        _assert_same_rows(_read(blind, key, [d]), _read(full, key, [d]), f"{'.'.join(key)} on {d}")
    # Everything before D is the same in both lakes too.
    _assert_same_lake(blind, full, dates_between(MAIN[0], d - timedelta(days=1)), "before D")

    # Grading needs D's box scores: graded in the full lake, every prediction void in the other.
    graded = _read(full, ("nba_predictions", "prediction_accuracy"), [d])
    blind_graded = _read(blind, ("nba_predictions", "prediction_accuracy"), [d])
    assert graded.height == blind_graded.height > 0
    assert graded["played"].sum() > 0 and graded["actual_points"].null_count() < graded.height
    assert set(blind_graded["grade"].unique()) == {"void"} and blind_graded["played"].sum() == 0


def _lake_materializations(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], list[dg.AssetMaterialization]]:
    events = result.get_asset_materialization_events()
    return {key: [e.materialization for e in events if e.asset_key == dg.AssetKey(list(key))] for key in LAKE_TABLES}


def _schema_pairs(table_schema: dg.TableSchema) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in table_schema.columns]


def test_materializations_carry_row_counts_and_the_unique_check_passed(main_lake: MainLake) -> None:
    result, instance = main_lake.result, main_lake.instance
    defs_assets = {a.key: a for a in _definitions(main_lake).resolve_all_asset_specs()}
    for key, mats in _lake_materializations(result).items():
        asset_key = dg.AssetKey(list(key))
        assert sorted(m.partition for m in mats) == [d.isoformat() for d in MAIN_DAYS], key
        # One output covers the run's window; each partition's event counts that day's rows.
        stored = _read(main_lake.lake, key, MAIN_DAYS)
        per_day = dict(stored.group_by("game_date").len().iter_rows())
        # every real name resolves, and no real payload is rejected
        assert stored.height > 0 or key in {("nba_raw", "unresolved_player_names"), ("nba_raw", "payload_rejections")}
        for mat in mats:
            day = date.fromisoformat(mat.partition)
            assert mat.metadata["dagster/row_count"].value == per_day.get(day, 0), (key, day)
            # Nothing run-wide on a partition: no window totals, no repeated schema.
            assert not {"run_window", "run_window_rows", "dagster/column_schema"} & set(mat.metadata), (key, day)
        latest = instance.get_latest_materialization_event(asset_key)
        assert latest is not None and latest.asset_materialization.partition in {m.partition for m in mats}
        assert len(instance.fetch_materializations(asset_key, limit=1000).records) == len(MAIN_DAYS), key
        # The declared schema is published on the asset definition.
        declared = defs_assets[asset_key].metadata["dagster/column_schema"]
        assert _schema_pairs(declared) == [(n, str(t)) for n, t in schema_for(*key).items()]

    checks = [c for c in result.get_asset_check_evaluations() if c.check_name == "unique_game_player"]
    assert checks, "the blocking check unique_game_player did not run"
    for check in checks:
        assert check.asset_key == dg.AssetKey(["nba_analytics", "player_game_summary"])
        assert check.passed and check.metadata["duplicate_keys"].value == 0


def test_partition_events_are_slim_and_the_schema_is_declared_once(main_lake: MainLake) -> None:
    """Every partition event carries only its own figures; the column schema lives on the definition."""
    defs_assets = {a.key: a for a in _definitions(main_lake).resolve_all_asset_specs()}
    for key, mats in _lake_materializations(main_lake.result).items():
        assert mats, key
        declared = defs_assets[dg.AssetKey(list(key))].metadata["dagster/column_schema"]
        assert _schema_pairs(declared) == [(n, str(t)) for n, t in schema_for(*key).items()], key
        for mat in mats:
            assert "dagster/column_schema" not in mat.metadata, (key, mat.partition)
            size = sum(len(repr(v.value)) for v in mat.metadata.values())
            assert size < 1500, (key, mat.partition, sorted(mat.metadata), size)


def test_history_window_loads_as_one_frame_equal_to_single_days(main_lake: MainLake) -> None:
    history = dg.AssetKey(["nba_analytics", "player_game_summary"])
    mapping = precompute.player_daily_cache.get_partition_mapping(history)
    day = date(2024, 11, 1)
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        game_date_partitions.empty_subset().with_partition_keys([day.isoformat()]),
        game_date_partitions,
        game_date_partitions,
    ).partitions_subset
    (key_range,) = upstream.get_partition_key_ranges(game_date_partitions)
    assert (key_range.start, key_range.end) == ((day - timedelta(days=365)).isoformat(), "2024-10-31")

    manager = LakehouseIOManager(lake=local_lake(main_lake.lake))
    instance = main_lake.instance
    context = dg.build_input_context(
        asset_key=history,
        asset_partition_key_range=key_range,
        asset_partitions_def=game_date_partitions,
        upstream_output=dg.build_output_context(asset_key=history),
        instance=instance,
    )
    window = manager.load_input(context)
    assert isinstance(window, pl.DataFrame)
    assert window.schema == schema_for("nba_analytics", "player_game_summary")

    def single(d: date) -> pl.DataFrame:
        return manager.load_input(
            dg.build_input_context(
                asset_key=history,
                partition_key=d.isoformat(),
                asset_partitions_def=game_date_partitions,
                instance=instance,
            )
        )

    # Single-day loads of every stored partition of the window (a never-materialized day loads as
    # no rows: checked at both ends of the gaps rather than 340 times).
    days = dates_between(date.fromisoformat(key_range.start), date.fromisoformat(key_range.end))
    stored = set(_stored(main_lake.lake, ("nba_analytics", "player_game_summary")))
    present = [d for d in days if d in stored]
    assert present == dates_between(*HISTORY) + dates_between(MAIN[0], date(2024, 10, 31))
    never = [d for d in days if d not in stored]
    for d in (never[0], HISTORY[0] - timedelta(days=1), HISTORY[1] + timedelta(days=1), never[-1]):
        assert d in never
        empty = single(d)
        assert empty.height == 0 and empty.schema == window.schema, d
    singles = [single(d) for d in present]
    assert window.equals(pl.concat(singles, how="vertical"))
    loaded = set(window["game_date"].unique())
    assert max(loaded) == date(2024, 10, 31) and min(loaded) == HISTORY[0]  # both seasons, never D itself
    assert window.height == sum(f.height for f in singles) > 0


def test_renamed_stats_field_holds_back_that_day_and_keeps_its_stored_partition(
    main_lake: MainLake, workdir: Path
) -> None:
    archive = workdir / "replay_bad"
    shutil.copytree(main_lake.archive, archive)
    stats = archive / "balldontlie" / "v1" / "stats" / f"{BAD_DAY.isoformat()}.json"
    body = json.loads(stats.read_bytes())
    row = next(r for r in body["data"] if r["pts"])
    row["points"] = row.pop("pts")
    stats.write_bytes(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())

    lake = workdir / "lake_bad_input"
    shutil.copytree(main_lake.lake, lake)  # the earlier good run of the same days
    store = LocalParquetStore(lake)
    window = dates_between(BAD_DAY - timedelta(days=1), BAD_DAY + timedelta(days=1))
    box = ("nba_raw", "bdl_player_boxscores")
    before = store.partition_file(TableRef(*box), BAD_DAY).read_bytes()
    assert _read(lake, box, [BAD_DAY]).height > 0

    # The bad day is held back, the run goes on: its stored partition is kept as it was, the other
    # days are written, and the rejection names the file, the field and the day.
    result = _run(lake, archive, main_lake.home, window[0], window[-1])
    assert result.success
    assert store.partition_file(TableRef(*box), BAD_DAY).read_bytes() == before
    rejections = _read(lake, ("nba_raw", "payload_rejections"), window)
    assert rejections.select("game_date", "source").rows() == [(BAD_DAY, "bdl_stats")]
    assert "'pts'" in rejections["error"][0] and BAD_DAY.isoformat() in rejections["error"][0]
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "held_back_days"]
    assert not check.passed and BAD_DAY.isoformat() in check.metadata["days"].value
    assert not list((lake / "nba_raw" / "bdl_player_boxscores").glob(".staging-*"))
