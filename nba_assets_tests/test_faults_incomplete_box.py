"""A run over real data whose box scores for some days are incomplete predicts every other day
(issue 14; the 2025-26 data that showed it is not in ``data/``, so the case is cut from the real box
scores of 2024-11-12..2024-11-20).

The archive's box scores are the real rows of ``data/player_box_scores.parquet``, with rows
REMOVED on three game days: on 2024-11-13 and 2024-11-16 each team-game keeps only its first 4–9
players as the file lists them (4 + the team-game's rank mod 6), on 2024-11-18 its first 9, as the
partial 2025-26 box scores had about 4–9 players per team-game. Nothing is edited or invented; the
lines are the real ones. One run of the whole graph (Dagster, in process, replay archive) then:

- succeeds: no blocking check fails;
- predicts every game day of the range after its first (a fresh lake's first day has no history),
  the incomplete days included (their features come from the days before them);
- holds back the two days whose partial box scores give an impossible pace (below 60:
  ``team_offense_game_summary`` does not store them, its check ``held_back_impossible_days`` names them);
- flags all three incomplete days: ``box_scores_complete`` names their games, and the feature rows of
  the later days list them in ``missing_history_dates``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import build_archive
from nba_assets.schemas import schema_for

from .conftest import BOX_SCORES, LINES, lake_settings

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

FIRST, LAST = date(2024, 11, 12), date(2024, 11, 20)
DAYS = dates_between(FIRST, LAST)
PARTIAL = (date(2024, 11, 13), date(2024, 11, 16))  # 4-9 players per team-game
NINE = date(2024, 11, 18)  # 9 players per team-game
INCOMPLETE = (*PARTIAL, NINE)
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _read(lake: Path, dataset: str, table: str, days: list[date]) -> pl.DataFrame:
    return LocalParquetStore(lake).read_window(TableRef(dataset, table), days, schema_for(dataset, table))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("incomplete_box")
    keep = pl.col("game_date").is_between(pl.lit(FIRST.isoformat()), pl.lit(LAST.isoformat()))
    box = pl.read_parquet(BOX_SCORES).filter(keep)
    nth = pl.int_range(pl.len()).over("game_id", "team")  # the row's place in its team-game, file order
    kept = (4 + pl.struct("game_id", "team").rank("dense") % 6).cast(pl.Int64)
    days = pl.col("game_date").str.to_date()
    removed = (days.is_in(list(PARTIAL)) & (nth >= kept)) | ((days == NINE) & (nth >= 9))
    cut = box.filter(~removed)
    assert box.height - cut.height > 100  # rows removed, none changed
    cut.write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(d / "lines.parquet")
    archive = build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")
    lake, home = d / "lake", d / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("DAGSTER_HOME", str(home))
        from nba_assets.definitions import build_definitions

        settings = lake_settings(lake, replay_dir=str(archive))
        job = build_definitions(settings=settings).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance, tags={RANGE_START: FIRST.isoformat(), RANGE_END: LAST.isoformat()}, raise_on_error=False
        )
        log = "\n".join(str(entry.user_message) for entry in instance.all_logs(result.run_id))
    return result, log, lake, cut.with_columns(pl.col("game_date").str.to_date())


def _check(result: dg.ExecuteInProcessResult, asset: str, name: str) -> dg.AssetCheckEvaluation:
    (check,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == name and c.asset_key.path[-1] == asset
    ]
    return check


def mats_of(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dict]:
    """Partition -> the metadata of ``asset``'s materialization of it in the run."""
    return {
        m.partition: m.metadata
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key.path[-1] == asset
    }


def test_incomplete_box_scores_on_some_days_leave_every_day_predicted(run) -> None:
    result, log, lake, box = run
    assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
    game_days = sorted(set(box["game_date"]))
    assert set(INCOMPLETE) <= set(game_days) and len(game_days) == len(DAYS)

    predictions = _read(lake, "nba_predictions", "player_prop_predictions", DAYS)
    per_day = dict(predictions.group_by("game_date").len().iter_rows())
    # (the first day of a fresh lake has no history, hence no expected player: nothing to predict)
    assert FIRST not in per_day
    for day in game_days[1:]:
        assert per_day.get(day, 0) > 0, f"{day} not predicted"

    # The days whose partial box scores give an impossible pace are held back, with names.
    store = LocalParquetStore(lake)
    assert store.missing_partitions(TableRef("nba_analytics", "team_offense_game_summary"), DAYS) == list(PARTIAL)
    for day in PARTIAL:
        assert f"held back nba_analytics/team_offense_game_summary for {day}: impossible value(s)" in log
    held = _check(result, "team_offense_game_summary", "held_back_impossible_days")
    assert not held.passed and held.severity == dg.AssetCheckSeverity.WARN
    assert held.metadata["held_back_days"].value == 2
    assert all(f"{day} pace" in held.metadata["days"].value for day in PARTIAL)
    mats = mats_of(result, "team_offense_game_summary")
    for day in PARTIAL:
        meta = mats[day.isoformat()]
        assert meta["held_back"].value is True and meta["held_back_field"].value == "pace"
        assert "outside the possible [60, 140]" in meta["held_back_error"].value
    assert "held_back" not in mats[NINE.isoformat()]

    # All three incomplete days are flagged: the box-score check names their games...
    complete = _check(result, "bdl_player_boxscores", "box_scores_complete")
    assert not complete.passed and complete.metadata["days_incomplete"].value == len(INCOMPLETE)
    assert INCOMPLETE[0].isoformat() in complete.metadata["examples"].value  # (its first ten games)
    for day in INCOMPLETE:
        assert mats_of(result, "bdl_player_boxscores")[day.isoformat()]["games_incomplete"].value > 0, day
    # ...and the later days' feature rows list them as missing from their history.
    features = _read(lake, "nba_precompute", "ml_feature_store", DAYS)
    for day in DAYS[1:]:
        rows = features.filter(pl.col("game_date") == day)
        want = [d.isoformat() for d in INCOMPLETE if d < day]
        assert rows.height > 0, day
        assert rows["missing_history_dates"].unique().to_list() == [",".join(want)], day
        assert mats_of(result, "ml_feature_store")[day.isoformat()]["missing_history_days"].value == len(want), day
    gaps = _check(result, "ml_feature_store", "history_complete")
    assert not gaps.passed and gaps.severity == dg.AssetCheckSeverity.WARN
    assert gaps.metadata["missing_history_dates"].value == ", ".join(d.isoformat() for d in INCOMPLETE)
    # Nothing impossible reached the feature store: its blocking check passed, no day held back there.
    assert _check(result, "ml_feature_store", "feature_values_possible").passed
    assert _check(result, "ml_feature_store", "held_back_impossible_days").passed


def test_missing_history_dates_cover_exactly_the_365_days_before_d(box_scores: pl.DataFrame) -> None:
    """``history_gaps`` on the real box scores and schedule of 2024-11-12..20 with 2024-11-13's
    team-games cut to 5 players (rows removed): the day is named by D = 11-14 .. 11-13 + 365, not by
    11-13 itself nor later; a day whose games are all there is never named; any set of target days
    gives each day the same value (a function of its own 365 days)."""
    from datetime import timedelta

    from nba_assets.transforms.analytics import player_game_summary
    from nba_assets.transforms.features import history_gaps

    from .conftest import empty_props, raw_box_from_box_scores, schedule_from_box_scores

    real = box_scores.filter(pl.col("game_date").is_between(FIRST, LAST))
    day = PARTIAL[0]
    cut = real.filter(~((pl.col("game_date") == day) & (pl.int_range(pl.len()).over("game_id", "team") >= 5)))
    schedule = schedule_from_box_scores(real)
    summary = player_game_summary(raw_box_from_box_scores(cut), schedule, empty_props())
    targets = [day, day + timedelta(days=1), day + timedelta(days=365), day + timedelta(days=366), LAST]
    gaps = history_gaps(targets, schedule, summary)
    got = dict(gaps.select("game_date", "missing_history_dates").iter_rows())
    assert got == {
        day: "",
        day + timedelta(days=1): day.isoformat(),
        day + timedelta(days=365): day.isoformat(),
        day + timedelta(days=366): "",
        LAST: day.isoformat(),
    }
    assert dict(gaps.select("game_date", "missing_history_days").iter_rows())[LAST] == 1
    for target in targets:
        assert history_gaps([target], schedule, summary).row(0) == gaps.filter(pl.col("game_date") == target).row(0)
    complete = player_game_summary(raw_box_from_box_scores(real), schedule, empty_props())
    assert (history_gaps(targets, schedule, complete)["missing_history_dates"] == "").all()
