"""player_availability (issue 16) on the real box scores and the real DFS lines of data/.

The table for D is a function of D's schedule, D's pre-tip lines and the box scores strictly
before D: changing or deleting everything from D on (box scores of D and later, later schedules
and lines, lines quoted at or after D's tip-offs) leaves it as it was.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.real_data import props_from_lines
from nba_assets.schemas import schema_for
from nba_assets.transforms.availability import (
    MINUTES_TRAIN_DAYS,
    availability_day,
    minutes_day,
    minutes_from_history,
    player_availability,
    player_minutes,
)

from .conftest import BOX_SCORES, LINES, lake_settings, schedule_from_box_scores, seed_lake

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

D = date(2024, 11, 20)  # inside the lines' window 2024-10-22..2024-12-15
NO_LINES = date(2024, 3, 1)  # 2023-24: the data has no line for it


@pytest.fixture(scope="module")
def real(box_scores, points_lines, summary_history) -> dict[str, pl.DataFrame]:
    box = box_scores.filter(pl.col("game_date").is_between(date(2023, 2, 1), date(2024, 12, 15)))
    return {
        "schedule": schedule_from_box_scores(box),
        "props": props_from_lines(points_lines),
        "summary": summary_history.filter(pl.col("game_date") >= date(2023, 2, 1)),
    }


def test_the_table_for_d_ignores_everything_from_d_on(real) -> None:
    schedule, props, summary = real["schedule"], real["props"], real["summary"]
    baseline = availability_day(D, schedule, props, summary)
    assert baseline.height > 100 and (baseline["game_date"] == D).all()
    assert baseline.schema == schema_for("nba_precompute", "player_availability")
    later = pl.col("game_date") >= D
    s2 = summary.with_columns(
        [pl.when(later).then(pl.col(c) * 3 + 7).otherwise(pl.col(c)).alias(c) for c in ("minutes", "pts", "fga")]
    ).filter(~later | (pl.col("player_id") % 2 == 0))
    sched2 = schedule.filter(pl.col("game_date") <= D).with_columns(
        pl.when(pl.col("game_date") > D).then(pl.lit(True)).otherwise(pl.col("postponed")).alias("postponed")
    )
    after = (pl.col("game_date") > D) | (pl.col("snapshot_utc") >= pl.col("commence_utc"))
    # Quotes taken at tip-off for every player of D (in-game lines), later days' lines changed.
    in_game = props.filter(pl.col("game_date") == D).with_columns(
        pl.col("commence_utc").alias("snapshot_utc"), (pl.col("line") + 5).alias("line")
    )
    players_d = summary.filter(pl.col("game_date") == D).select("player_id", "player_lookup").unique()
    unlined = (
        in_game.head(50).drop("player_id", "player_lookup").join(players_d.head(50).with_row_index("_i"), how="cross")
    )
    unlined = unlined.unique("player_id").select(in_game.columns)
    p2 = pl.concat(
        [
            props.filter(~after),
            props.filter(pl.col("game_date") > D).with_columns(pl.col("line") * 2),
            in_game,
            unlined,
        ]
    )
    assert p2.filter(pl.col("game_date") == D).height > props.filter(pl.col("game_date") == D).height
    assert_frame_equal(availability_day(D, sched2, p2, s2), baseline)


def test_a_day_is_the_same_in_any_range_and_with_any_history_frame(real) -> None:
    schedule, props, summary = real["schedule"], real["props"], real["summary"]
    days = [D - timedelta(days=2), D - timedelta(days=1), D]
    ranged = player_availability(schedule, props, summary, days)
    short = summary.filter(pl.col("game_date").is_between(D - timedelta(days=365), D, closed="left"))
    alone = player_availability(schedule, props, short, [D])
    assert_frame_equal(ranged.filter(pl.col("game_date") == D), alone, check_exact=True)
    assert ranged["game_date"].n_unique() == 3


def test_where_the_signal_exists_and_what_it_says(real) -> None:
    schedule, props, summary = real["schedule"], real["props"], real["summary"]
    none = availability_day(NO_LINES, schedule, props, summary)
    assert none.height > 100 and not none["lines_signal"].any()
    assert none["probably_out"].null_count() == none.height and none["vacated_minutes"].null_count() == none.height
    week = [D + timedelta(days=i) for i in range(7)]
    rows = player_availability(schedule, props, summary, week)
    signal = rows.filter(pl.col("lines_signal"))
    assert signal.height > 0.9 * rows.height
    flagged = signal.filter(pl.col("probably_out"))
    assert flagged.height > 30
    assert (~flagged["has_line"]).all() and flagged["is_rotation"].all() and (flagged["team_lined"] >= 2).all()
    # Against what happened (not an input): flagged players missed D far more often than lined rotation ones.
    played = summary.filter(pl.col("game_date").is_in(week)).select("game_id", "player_id", pl.lit(True).alias("p"))
    dnp = (
        signal.filter(pl.col("is_rotation"))
        .join(played, on=["game_id", "player_id"], how="left")
        .group_by("has_line")
        .agg(pl.col("p").is_null().mean().alias("dnp"))
    )
    rate = dict(dnp.iter_rows())
    assert rate[False] > 0.15 and rate[True] < 0.08, rate
    # The vacated figures are the flagged teammates' own recent figures, the player's own left out.
    team = signal.filter(pl.col("teammates_out") > 0).row(0, named=True)
    mates = signal.filter(
        (pl.col("game_id") == team["game_id"])
        & (pl.col("team") == team["team"])
        & pl.col("probably_out")
        & (pl.col("player_id") != team["player_id"])
    )
    assert mates.height == team["teammates_out"]
    assert abs(mates["minutes_recent"].sum() - team["vacated_minutes"]) < 1e-9


def test_the_asset_in_a_dagster_run(real, tmp_path) -> None:
    import dagster as dg

    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between

    lake = tmp_path / "lake"
    store = LocalParquetStore(lake)
    run = (date(2024, 11, 4), date(2024, 11, 6))  # 2024-11-05 has no game: empty partitions
    days = dates_between(run[0] - timedelta(days=365), run[1])
    tables = {
        ("nba_raw", "nbac_schedule"): real["schedule"],
        ("nba_raw", "odds_api_player_points_props"): real["props"],
        ("nba_analytics", "player_game_summary"): real["summary"],
    }
    seed_lake(store, tables, days)
    from nba_assets.definitions import build_definitions

    defs = build_definitions(settings=lake_settings(lake))
    job = defs.resolve_implicit_global_asset_job_def()
    key = dg.AssetKey(["nba_precompute", "player_availability"])
    minutes_key = dg.AssetKey(["nba_predictions", "player_minutes"])
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.get_subset(asset_selection={key, minutes_key}).execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": run[0].isoformat(),
                "dagster/asset_partition_range_end": run[1].isoformat(),
            },
        )
    assert result.success
    schema = schema_for("nba_precompute", "player_availability")
    stored = store.read_window(TableRef("nba_precompute", "player_availability"), dates_between(*run), schema)
    minutes = store.read_window(
        TableRef("nba_predictions", "player_minutes"),
        dates_between(*run),
        schema_for("nba_predictions", "player_minutes"),
    )
    direct = player_availability(real["schedule"], real["props"], real["summary"], dates_between(*run))
    assert_frame_equal(
        stored.sort("game_date", "game_id", "team", "player_id"),
        direct.sort("game_date", "game_id", "team", "player_id"),
    )

    # The minutes of the run: the training days' availability recomputed from the lake's history.
    game_days = {date(2024, 11, 4), date(2024, 11, 6)}
    assert set(minutes["game_date"].unique()) == game_days == set(stored["game_date"].unique())
    for table in ("nba_precompute/player_availability", "nba_predictions/player_minutes"):
        assert pl.read_parquet(store.partition_file(TableRef(*table.split("/")), date(2024, 11, 5))).height == 0
    mats = [e.materialization for e in result.get_asset_materialization_events()]
    assert len(mats) == 6 and {m.partition for m in mats} == {d.isoformat() for d in dates_between(*run)}
    direct_minutes = minutes_from_history(direct, real["schedule"], real["props"], real["summary"], dates_between(*run))
    assert (direct_minutes["method"] == "ridge").all()
    assert_frame_equal(
        minutes.sort("game_date", "game_id", "team", "player_id"),
        direct_minutes.sort("game_date", "game_id", "team", "player_id"),
    )


def test_the_minutes_model_for_d_ignores_everything_from_d_on(real) -> None:
    schedule, props, summary = real["schedule"], real["props"], real["summary"]
    days = sorted(d for d in set(schedule["game_date"]) if D - timedelta(days=MINUTES_TRAIN_DAYS) <= d <= D)
    rows = player_availability(schedule, props, summary, days)
    baseline = minutes_day(D, rows, summary)
    assert baseline.height > 100 and (baseline["method"] == "ridge").all() and baseline["train_rows"][0] > 1000
    assert baseline["expected_minutes"].is_between(0, 48).all()
    later = pl.col("game_date") >= D
    s2 = summary.with_columns(
        [pl.when(later).then(pl.col(c) * 3 + 7).otherwise(pl.col(c)).alias(c) for c in ("minutes", "pts")]
    ).filter(~later | (pl.col("player_id") % 2 == 0))
    # Availability rows after D changed, D's own rows kept (they are the inputs).
    r2 = pl.concat(
        [
            rows.filter(pl.col("game_date") <= D),
            rows.filter(pl.col("game_date") > D).with_columns(pl.col("minutes_recent") * 2),
        ]
    )
    assert_frame_equal(minutes_day(D, r2, s2), baseline)
    # The same day in a range and alone.
    ranged = player_minutes(rows, summary, [D - timedelta(days=1), D])
    assert_frame_equal(ranged.filter(pl.col("game_date") == D), baseline, check_exact=True)
    # As the asset computes it: D's rows as input, the training days' rows recomputed from history.
    assert_frame_equal(minutes_from_history(rows, schedule, props, summary, [D]), baseline, check_exact=True)
    # Better than his recent minutes on the day (DNPs count 0), against what happened.
    played = summary.filter(pl.col("game_date") == D).select("game_id", "player_id", pl.col("minutes").alias("m"))
    e = baseline.join(played, on=["game_id", "player_id"], how="left").with_columns(pl.col("m").fill_null(0.0))
    assert (e["expected_minutes"] - e["m"]).abs().mean() < (e["minutes_recent"] - e["m"]).abs().mean()
