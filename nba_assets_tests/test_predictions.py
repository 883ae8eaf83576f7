"""Predictions (issue 5) on real data: walk-forward models, six systems, no look-ahead, grading.

Everything is cut from the real files in data/: box scores become player_game_summary and the
feature store through the code location's own phase-3/4 assets (``graph.run`` over a real lake);
the PrizePicks / Underdog lines become the raw props table the way the replay archive records them
(one pre-tip quote per book, 60 minutes before tip-off, no prices).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.facts import dates_between, week_of
from nba_assets.io.model_store import ModelStore
from nba_assets.predictors import gbm, walkforward
from nba_assets.predictors.artifacts import Artifact
from nba_assets.predictors.systems import SYSTEM_IDS, MissingModelError, predict_days
from nba_assets.real_data import props_from_lines
from nba_assets.schemas import schema_for
from nba_assets.transforms.asof import HISTORY_DAYS
from nba_assets.transforms.grading import daily_performance, grade

from . import graph
from .conftest import BOX_SCORES, LINES, lake_settings, raw_box_from_box_scores, schedule_from_box_scores, seed_lake

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

FIRST, LAST = date(2024, 3, 1), date(2024, 11, 27)  # feature rows: late 2023-24 and the first weeks of 2024-25
WEEK = date(2024, 11, 18)  # the model week under test (a Monday)
D = date(2024, 11, 20)  # the game date under test, inside WEEK
TRAIN_DAYS = (WEEK - FIRST).days  # the tests train on every feature row before the week
GRADE_DAYS = (date(2024, 10, 22), date(2024, 11, 27))
NOW = datetime(2024, 11, 20, 23, 0, tzinfo=UTC)  # when the predictions are made (stamped as created_at)


@pytest.fixture(scope="module")
def real(box_scores, points_lines, tmp_path_factory) -> dict[str, pl.DataFrame]:
    """The feature store of FIRST..LAST as the phase-3/4 assets store it, on a lake whose summaries
    start a year before FIRST (one run of the summaries, then one of the range)."""
    start = FIRST - timedelta(days=HISTORY_DAYS)
    box = raw_box_from_box_scores(box_scores.filter(pl.col("game_date").is_between(start, LAST)))
    props = props_from_lines(points_lines.filter(pl.col("game_date") <= LAST))
    lake = tmp_path_factory.mktemp("predictions_features") / "lake"
    graph.write_raw(lake, (box, schedule_from_box_scores(box_scores), props), dates_between(start, LAST))
    graph.run(lake, start, FIRST - timedelta(days=1), graph.PHASE3)
    graph.run(lake, FIRST, LAST)
    features = graph.read(lake, ("nba_precompute", "ml_feature_store"), dates_between(FIRST, LAST))
    summary = graph.read(lake, ("nba_analytics", "player_game_summary"), dates_between(start, LAST))
    from .conftest import empty_props

    assert features.height > 10_000
    return {"features": features, "summary": summary, "props": props, "empty_props": empty_props()}


def _train_weeks(features: pl.DataFrame, summary: pl.DataFrame, weeks: list[date], root) -> dict[str, dict]:
    """Train both models for each week the way the model assets do, store them, read them back."""
    store = ModelStore(root)
    columns = gbm.feature_columns()
    out: dict[str, dict] = {}
    for system_id, spec in gbm.MODELS.items():
        for week in weeks:
            rows = gbm.training_rows(features, summary, week, days=TRAIN_DAYS)
            trained = spec["train"](rows, columns, week)
            meta = {
                "status": "trained",
                "week_start": week.isoformat(),
                "train_rows": rows.height,
                "last_row_date": rows["game_date"].max().isoformat(),
                "features": columns,
            }
            store.write("nba_predictions", system_id, week, Artifact({spec["file"]: trained.model_bytes}, meta))
            out.setdefault(system_id, {})[week] = store.read("nba_predictions", system_id, week)
    return out


def _predict(real: dict, features: pl.DataFrame, summary: pl.DataFrame, root) -> tuple[pl.DataFrame, dict]:
    models = _train_weeks(features, summary, [WEEK - timedelta(days=7), WEEK], root)
    calibration = walkforward.build([WEEK], features, summary, summary, models, week_of(FIRST))
    day_features = features.filter(pl.col("game_date") == D)
    history = summary.filter(pl.col("game_date") < D)
    props = real["props"].filter(pl.col("game_date") == D)
    frame = predict_days(day_features, props, history, models, calibration, first_model_week=WEEK, created_at=NOW)
    return frame.drop("created_at"), models


def _perturb_from(frame: pl.DataFrame, day: date, columns: list[str]) -> pl.DataFrame:
    later = pl.col("game_date") >= day
    changed = frame.with_columns(
        [pl.when(later).then(pl.col(c) * 3 + 7).otherwise(pl.col(c)).alias(c) for c in columns if c in frame.columns]
    )
    return changed.filter(~later | (pl.col("player_id") % 2 == 0))


def test_models_never_see_their_own_week(real, tmp_path) -> None:
    features, summary = real["features"], real["summary"]
    columns = gbm.feature_columns()
    rows = gbm.training_rows(features, summary, WEEK, days=TRAIN_DAYS)
    assert rows.height > 5_000 and rows["game_date"].max() < WEEK
    baseline = {s: spec["train"](rows, columns, WEEK).model_bytes for s, spec in gbm.MODELS.items()}
    # Change every feature and every actual from the week start on (and delete half of them).
    numeric = [c for c in columns if features.schema.get(c, pl.Boolean).is_numeric()]
    f2 = _perturb_from(features, WEEK, numeric)
    s2 = _perturb_from(summary, WEEK, ["pts"])
    assert f2.filter(pl.col("game_date") >= WEEK).height > 0
    rows2 = gbm.training_rows(f2, s2, WEEK, days=TRAIN_DAYS)
    assert_frame_equal(rows2, rows)
    for system_id, spec in gbm.MODELS.items():
        assert spec["train"](rows2, columns, WEEK).model_bytes == baseline[system_id], system_id


def test_predictions_for_d_ignore_everything_from_d_on_and_cover_six_systems(real, tmp_path) -> None:
    features, summary = real["features"], real["summary"]
    baseline, models = _predict(real, features, summary, tmp_path / "a")
    assert set(baseline["system_id"].unique()) == set(SYSTEM_IDS)
    assert (baseline["game_date"] == D).all()
    ml = baseline.filter(pl.col("system_id").is_in(["xgboost_v1", "lightgbm_v1", "ensemble_v1"]))
    assert ml.height > 0 and (ml["model_week"] == WEEK).all()
    for system_id in ("xgboost_v1", "lightgbm_v1"):
        stored = models[system_id][WEEK].metadata
        assert date.fromisoformat(stored["last_row_date"]) < WEEK <= D
    assert baseline.filter(pl.col("points_line").is_not_null()).height > 50
    assert baseline["p_over"].drop_nulls().is_between(0, 1).all()
    assert set(baseline["recommendation"].unique()) >= {"NO_LINE", "PASS"}

    # Every row dated D or later, other than D's own feature rows (the inputs; their own
    # leakage is proven by the feature tests), changed or deleted: the predictions stay.
    numeric = [c for c, t in features.schema.items() if t.is_numeric() and c not in ("player_id",)]
    f2 = pl.concat(
        [
            features.filter(pl.col("game_date") == D),
            _perturb_from(features.filter(pl.col("game_date") != D), D, numeric),
        ]
    )
    s2 = _perturb_from(summary, D, ["pts", "minutes", "opp_pts", "fgm", "fg3m", "ftm"])
    perturbed, _ = _predict(real, f2, s2, tmp_path / "b")
    assert_frame_equal(perturbed, baseline)


def test_missing_model_fails_loudly(real, tmp_path) -> None:
    features, summary = real["features"], real["summary"]
    day = features.filter(pl.col("game_date") == D)
    calibration = {WEEK: {"week_start": WEEK.isoformat(), "ensemble": None, "systems": {}}}
    with pytest.raises(MissingModelError, match=f"no model for the week starting {WEEK.isoformat()}"):
        predict_days(
            day,
            real["props"].filter(pl.col("game_date") == D),
            summary.filter(pl.col("game_date") < D),
            {},
            calibration,
            first_model_week=WEEK,
            created_at=NOW,
        )
    with pytest.raises(MissingModelError, match="system_calibration"):
        predict_days(
            day,
            real["props"].filter(pl.col("game_date") == D),
            summary.filter(pl.col("game_date") < D),
            {},
            {},
            first_model_week=WEEK,
            created_at=NOW,
        )


def test_grading_on_real_rows(real) -> None:
    """void (did not play), push (points equal the line), correct and incorrect calls, no_bet."""
    features, summary = real["features"], real["summary"]

    days = features.filter(pl.col("game_date").is_between(*GRADE_DAYS))
    props = real["props"].filter(pl.col("game_date").is_between(*GRADE_DAYS))
    history = summary.filter(pl.col("game_date") < GRADE_DAYS[1])
    calib = {
        w: {"week_start": w.isoformat(), "ensemble": None, "systems": {}}
        for w in {week_of(d) for d in days["game_date"].unique()}
    }
    preds = predict_days(days, props, history, {}, calib, first_model_week=date(2030, 1, 1), created_at=NOW)
    actuals = summary.filter(pl.col("game_date").is_between(*GRADE_DAYS))
    graded = grade(preds, actuals, datetime.now(UTC))
    played = actuals.select("game_id", "player_id", "pts")
    g = graded.join(played, on=["game_id", "player_id"], how="left")
    # void: expected players who did not play; never a hit or a miss, no units.
    void = g.filter(pl.col("grade") == "void")
    assert void.height > 0 and void["pts"].null_count() == void.height and void["units"].null_count() == void.height
    # push: a real whole-number line the player scored exactly.
    push = g.filter(pl.col("grade") == "push")
    assert (
        push.height > 0 and (push["pts"].cast(pl.Float64) == push["points_line"]).all() and (push["units"] == 0).all()
    )
    correct = g.filter(pl.col("grade") == "correct")
    wrong = g.filter(pl.col("grade") == "incorrect")
    assert correct.height > 0 and wrong.height > 0
    over_ok = (pl.col("recommendation") == "OVER") & (pl.col("pts") > pl.col("points_line"))
    under_ok = (pl.col("recommendation") == "UNDER") & (pl.col("pts") < pl.col("points_line"))
    assert correct.select((over_ok | under_ok).all()).item()
    assert not wrong.select((over_ok | under_ok).any()).item()
    assert (correct["units"] - 100 / 110).abs().max() < 1e-9 and (wrong["units"] == -1).all()  # no prices: -110
    no_bet = g.filter(pl.col("grade") == "no_bet")
    assert set(no_bet["recommendation"].unique()) <= {"PASS", "NO_LINE"} and no_bet.height > 0
    perf = daily_performance(graded)
    assert perf.height == graded.select("game_date", "system_id").n_unique()
    total = perf.select(pl.col("bets").sum(), pl.col("hits").sum(), pl.col("pushes").sum(), pl.col("voids").sum()).row(
        0
    )
    assert total == (correct.height + wrong.height, correct.height, push.height, void.height)


# ------------------------------------------------------------------- through Dagster, with exports

RUN = (date(2024, 11, 11), date(2024, 11, 20))  # two model weeks: WEEK calibrates on the one before it


@pytest.fixture(scope="module")
def dagster_lake(real, box_scores, tmp_path_factory):
    """A lake holding the real upstream tables, then the prediction groups run by Dagster over RUN."""
    import dagster as dg

    from nba_assets.io.storage import LocalParquetStore
    from nba_assets.partitions import dates_between

    lake = tmp_path_factory.mktemp("predictions_lake")
    store = LocalParquetStore(lake)
    days = dates_between(FIRST - timedelta(days=400), LAST)
    box = box_scores.filter(pl.col("game_date").is_between(days[0], days[-1]))
    tables = {
        ("nba_raw", "nbac_schedule"): schedule_from_box_scores(box),
        ("nba_raw", "odds_api_player_points_props"): real["props"],
        ("nba_analytics", "player_game_summary"): real["summary"],
        ("nba_precompute", "ml_feature_store"): real["features"],
    }
    seed_lake(store, tables, days)
    from nba_assets.definitions import build_definitions

    defs = build_definitions(settings=lake_settings(lake))
    selection = dg.AssetSelection.groups("models", "predictions", "grading", "exports")
    job = defs.resolve_implicit_global_asset_job_def()
    keys = selection.resolve(defs.resolve_asset_graph())
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.get_subset(asset_selection=set(keys)).execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": RUN[0].isoformat(),
                "dagster/asset_partition_range_end": RUN[1].isoformat(),
            },
        )
        yield lake, result


def test_dagster_run_stores_walk_forward_models_and_six_systems(dagster_lake) -> None:
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between

    lake, result = dagster_lake
    assert result.success
    store = ModelStore(lake)
    for table in ("points_model_lightgbm", "points_model_xgboost"):
        weeks = store.stored_weeks("nba_predictions", table)
        assert WEEK in weeks, (table, weeks)
        for week in weeks:
            meta = store.read("nba_predictions", table, week).metadata
            assert meta["status"] == "trained" and meta["week_start"] == week.isoformat()
            assert date.fromisoformat(meta["train_window"][1]) < week
            assert date.fromisoformat(meta["last_row_date"]) < week
            assert meta["train_rows"] > 1000 and meta["validation_mae"] > 0
            assert "points_line" in meta["features"] and "pts_avg_season" in meta["features"]
    mats = [e.materialization for e in result.get_asset_materialization_events()]
    model_mats = [m for m in mats if m.asset_key.path[-1] == "points_model_lightgbm"]
    assert WEEK.isoformat() in {m.partition for m in model_mats}
    shown = next(m for m in model_mats if m.partition == WEEK.isoformat()).metadata
    assert shown["validation_mae"].value > 0 and shown["train_rows"].value > 1000
    cal = store.read("nba_predictions", "system_calibration", WEEK)
    assert cal is not None and set(cal.metadata["thresholds"]) == set(SYSTEM_IDS)

    days = dates_between(*RUN)
    preds = LocalParquetStore(lake).read_window(
        TableRef("nba_predictions", "player_prop_predictions"),
        days,
        schema_for("nba_predictions", "player_prop_predictions"),
    )
    in_week = preds.filter(pl.col("game_date") >= WEEK)
    assert set(in_week["system_id"].unique()) == set(SYSTEM_IDS)
    assert (in_week.filter(pl.col("model_week").is_not_null())["model_week"] == WEEK).all()
    dated = preds.filter(pl.col("model_week").is_not_null())
    assert (dated["model_week"] == dated["game_date"].map_elements(week_of, return_dtype=pl.Date)).all()
    # The season-wide report: one materialization (unpartitioned), the plot inside its Markdown.
    (report,) = [m for m in mats if m.asset_key.path[-1] == "backtest_report"]
    assert report.partition is None
    assert "| ensemble_v1 |" in report.metadata["report"].value
    assert "](data:image/png;base64," in report.metadata["report"].value
    assert (lake / "reports" / "backtest" / "latest.png").stat().st_size > 10_000
    assert report.metadata["last_day"].value == RUN[1].isoformat()


def test_backtest_report_redraws_its_plot_only_when_the_report_changes(dagster_lake) -> None:
    """A re-run of the season-wide report on an unchanged lake keeps the stored plot (no matplotlib);
    a plot recorded as drawn from another report, or with no record, is drawn again (put through the
    object store: staged, then renamed)."""
    import dagster as dg

    from nba_assets.definitions import build_definitions

    lake, _ = dagster_lake
    folder = lake / "reports" / "backtest"
    plot, stored = folder / "latest.png", folder / "latest.json"
    first = (plot.stat().st_ino, plot.stat().st_mtime_ns)
    report_json, markdown = stored.read_bytes(), (folder / "latest.md").read_bytes()

    defs = build_definitions(settings=lake_settings(lake))
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(["nba_predictions", "backtest_report"])}
    )

    def run() -> None:
        with dg.DagsterInstance.ephemeral() as instance:
            assert job.execute_in_process(instance=instance).success

    run()
    assert (plot.stat().st_ino, plot.stat().st_mtime_ns) == first  # the stored plot, not drawn again
    assert stored.read_bytes() == report_json and (folder / "latest.md").read_bytes() == markdown

    drawn_from = folder / "latest.png.report-sha256"
    digest = drawn_from.read_text()
    for unvouched in ("0" * 64, None):  # drawn from another report; no record (a run cut short)
        if unvouched is None:
            drawn_from.unlink()
        else:
            drawn_from.write_text(unvouched)
        before = plot.stat().st_ino
        run()
        assert plot.stat().st_ino != before and plot.stat().st_size > 10_000  # drawn again
        assert drawn_from.read_text() == digest and not (folder / "latest.png.part").exists()
        assert stored.read_bytes() == report_json and (folder / "latest.md").read_bytes() == markdown


def test_every_export_validates_against_its_json_schema(dagster_lake) -> None:
    import json

    import jsonschema

    from .conftest import REPO

    lake, _ = dagster_lake
    schemas = REPO / "docs" / "schemas"
    root = lake / "exports" / "v1"
    kinds = {
        "predictions/*.json": "day",
        "tonight/all-players.json": "day",
        "tonight/player/*.json": "player",
        "best-bets/*.json": "best-bets",
        "results/*.json": "results",
        "systems/performance.json": "performance",
    }
    checked = 0
    for pattern, kind in kinds.items():
        schema = json.loads((schemas / f"{kind}.schema.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        files = sorted(root.glob(pattern))
        assert files, pattern
        for path in files:
            validator.validate(json.loads(path.read_text()))
            checked += 1
    assert checked > 100  # one file per player tonight
    tonight = json.loads((root / "tonight" / "all-players.json").read_text())
    player = tonight["games"][0]["players"][0]
    assert len(player["last_10_games"]) > 0 and set(player["predictions"]) <= set(SYSTEM_IDS)
    bets = json.loads((root / "best-bets" / f"{RUN[1].isoformat()}.json").read_text())
    assert [p["rank"] for p in bets["picks"]] == list(range(1, len(bets["picks"]) + 1))


def test_base_systems_for_a_day_do_not_depend_on_the_runs_history_frame(real) -> None:
    """A run hands the history window of its first day through its last as one frame: four seasons in
    the demo's run, ~370 days in a 3-day run. Each day's moving-average, zone-matchup and similarity
    predictions must be the same in both, and the same as the day computed alone (issue 11: they
    differed by up to 5.5 points when past games' attributes were computed from the frame's start)."""
    from nba_assets.predictors.systems import base_predictions

    days = [D - timedelta(days=2), D]
    features = real["features"].filter(pl.col("game_date").is_between(*days))
    summary = real["summary"]
    assert features["game_date"].n_unique() >= 2

    def frame(first: date) -> pl.DataFrame:
        return summary.filter(pl.col("game_date").is_between(first, D, closed="left"))

    whole = base_predictions(features, frame(summary["game_date"].min()))
    three_day_run = base_predictions(features, frame(days[0] - timedelta(days=365)))
    assert_frame_equal(whole, three_day_run, check_exact=True)  # bit for bit, not within a tolerance
    alone = base_predictions(features.filter(pl.col("game_date") == D), frame(D - timedelta(days=365)))
    assert_frame_equal(whole.filter(pl.col("game_date") == D), alone, check_exact=True)
    similarity = whole.filter(pl.col("system_id") == "similarity_balanced_v1")
    assert similarity["predicted_points"].is_not_null().sum() > 100
    assert whole.filter(pl.col("system_id") == "zone_matchup_v1")["predicted_points"].is_not_null().all()


def test_the_weeks_calibration_ignores_everything_from_the_week_start(real, tmp_path) -> None:
    """Calibration, thresholds and ensemble weights of week W come from rows before W: every row
    dated W or later (not only D or later) changed or deleted leaves W's document as it was. (A
    calibration window reaching three days into W passed the predictions test above.)"""
    features, summary = real["features"], real["summary"]
    models = _train_weeks(features, summary, [WEEK - timedelta(days=7), WEEK], tmp_path / "m")
    baseline = walkforward.build([WEEK], features, summary, summary, models, week_of(FIRST))
    assert baseline[WEEK]["ensemble"] and baseline[WEEK]["rows"] > 1000
    numeric = [c for c, t in features.schema.items() if t.is_numeric() and c != "player_id"]
    f2 = _perturb_from(features, WEEK, numeric)
    s2 = _perturb_from(summary, WEEK, ["pts", "minutes", "opp_pts", "fgm", "fg3m", "ftm"])
    assert f2.filter(pl.col("game_date").is_between(WEEK, D)).height > 0
    perturbed = walkforward.build([WEEK], f2, s2, s2, models, week_of(FIRST))
    assert perturbed == baseline


def test_calibrated_p_over_is_shrunk_toward_the_past_over_rate(real, tmp_path) -> None:
    """Week W's P(over) calibration: the base rate is the over-rate of the lined player-games before
    W (pushes out), the weight on each system's own signal is chosen on weeks before W, and w = 0
    gives the constant past over-rate."""
    import numpy as np

    from nba_assets.predictors import calibration

    features, summary = real["features"], real["summary"]
    models = _train_weeks(features, summary, [WEEK - timedelta(days=7), WEEK], tmp_path / "m")
    doc = walkforward.build([WEEK], features, summary, summary, models, week_of(FIRST))[WEEK]
    lined = walkforward.past_rows(
        features.filter(pl.col("game_date").is_between(WEEK - timedelta(days=walkforward.CAL_DAYS), WEEK, "left")),
        summary,
    ).filter(pl.col("points_line").is_not_null() & (pl.col("actual_points") != pl.col("points_line")))
    expected = float((lined["actual_points"] > lined["points_line"]).mean())
    assert lined["game_date"].max() < WEEK and lined.height > 1000
    assert doc["base_rate"]["rows"] == lined.height and abs(doc["base_rate"]["over_rate"] - expected) < 1e-5
    for system_id in SYSTEM_IDS:
        shrink = doc["systems"][system_id]["p_calibration"]
        assert shrink["w"] in calibration.SHRINK_GRID and shrink["base_rate"] == doc["base_rate"]["over_rate"]
        # every judged week is before W and had past lined rows before it
        assert shrink["log_loss_by_w"] is None or "past weeks" in shrink["how"]
    raw = np.array([0.2, 0.5, 0.8, np.nan])
    flat = calibration.shrink(raw, {"base_rate": expected, "mu": 0.1, "w": 0.0})
    assert np.allclose(flat[:3], expected) and np.isnan(flat[3])
    sharp = calibration.shrink(raw, {"base_rate": 0.5, "mu": 0.0, "w": 1.0})
    assert np.allclose(sharp[:3], raw[:3])


def test_backtest_scores_against_the_constant_past_over_rate(real) -> None:
    """The backtest's constant for week W comes from lined games before W only, and the README table
    is rendered from the report."""

    from nba_assets.transforms.grading import backtest, past_over_rates, readme_table

    features, summary = real["features"], real["summary"]
    days = features.filter(pl.col("game_date").is_between(*GRADE_DAYS))
    props = real["props"].filter(pl.col("game_date").is_between(*GRADE_DAYS))
    never = date(2030, 1, 1)  # no ML system: the three pure systems, calibrated walk-forward
    weeks = sorted({week_of(d) for d in days["game_date"].unique()})
    calib = walkforward.build(weeks, features, summary, summary, {}, never)
    preds = predict_days(days, props, summary.filter(pl.col("game_date") < GRADE_DAYS[1]), {}, calib,
                         first_model_week=never, created_at=NOW)  # fmt: skip
    graded = grade(preds, summary.filter(pl.col("game_date").is_between(*GRADE_DAYS)), datetime.now(UTC))
    rates = past_over_rates(graded)
    first = rates.sort("_week").row(0, named=True)
    assert first["past_over_rows"] == 0 and first["past_over_rate"] == 0.5
    # Outcomes from WEEK on flipped: the rates of weeks up to WEEK stay.
    flipped = graded.with_columns(
        pl.when(pl.col("game_date") >= WEEK)
        .then(pl.col("line_outcome").replace({"OVER": "UNDER", "UNDER": "OVER"}))
        .otherwise(pl.col("line_outcome"))
        .alias("line_outcome")
    )
    assert_frame_equal(past_over_rates(flipped).filter(pl.col("_week") <= WEEK), rates.filter(pl.col("_week") <= WEEK))
    report = backtest(graded, days)
    e = report["systems"]["moving_average"]
    assert e["brier_coin"] == 0.25 and e["brier_const"] is not None and e["log_loss_const"] is not None
    assert set(report["targets"]) == {"ensemble_mae_below_line", "brier_below_constant", "policy_53_over_500"}
    table = readme_table(report)
    assert "| the line |" in table and "| `moving_average` |" in table and "not reached" in table


def test_weekly_models_are_built_once_per_training_set(real, tmp_path) -> None:
    """``build_models`` alone (no Dagster): a week before the first model week gets its record and no
    model; two off-season weeks with the same training rows share one trained model; a stored week
    whose fingerprint matches is reused as stored, one whose fingerprint differs is trained again."""
    from nba_assets.predictors.model_weeks import FIRST_MODEL_WEEK, build_models, models_summary

    features, summary = real["features"], real["summary"]
    early, july, next_july = FIRST_MODEL_WEEK - timedelta(days=7), date(2024, 7, 15), date(2024, 7, 22)
    out = build_models("lightgbm_v1", [early, july, next_july], features, summary)
    assert out[early].metadata["status"] == "before_first_model_week" and out[early].files == {}
    assert out[july].metadata["status"] == "trained" and out[july].metadata["train_rows"] >= gbm.MIN_TRAIN_ROWS
    assert out[july].metadata["last_row_date"] < july.isoformat()  # never its own week
    assert out[next_july].metadata["reused_from"] == july.isoformat()
    assert out[next_july].files == out[july].files and out[next_july].metadata["week_start"] == next_july.isoformat()
    assert "3 weeks built, 2 trained" in models_summary("lightgbm_v1", out)

    store = ModelStore(tmp_path / "models")
    file = gbm.MODELS["lightgbm_v1"]["file"]
    store.write("nba_predictions", "m", july, Artifact({file: b"the stored model"}, out[july].metadata))
    reused = build_models("lightgbm_v1", [july], features, summary, lambda w: store.read("nba_predictions", "m", w))
    assert reused[july].files == {file: b"the stored model"}
    stale = {**out[july].metadata, "fingerprint": "another training set"}
    store.write("nba_predictions", "m", july, Artifact({file: b"the stored model"}, stale))
    retrained = build_models("lightgbm_v1", [july], features, summary, lambda w: store.read("nba_predictions", "m", w))
    assert retrained[july].files == out[july].files
    assert retrained[july].metadata["fingerprint"] == out[july].metadata["fingerprint"]


def test_calibration_artifacts_round_trip_through_the_model_store(real, tmp_path) -> None:
    """A week's calibration document becomes its stored artifact and reads back unchanged."""
    import json

    from nba_assets.predictors.model_weeks import calibration_artifacts, calibrations

    features, summary = real["features"], real["summary"]
    models = _train_weeks(features, summary, [WEEK - timedelta(days=7), WEEK], tmp_path / "m")
    docs = walkforward.build([WEEK], features, summary, summary, models, week_of(FIRST))
    artifacts = calibration_artifacts(docs)
    meta = artifacts[WEEK].metadata
    assert meta["status"] == "calibrated" and meta["week_start"] == WEEK.isoformat()
    assert set(meta["thresholds"]) == set(docs[WEEK]["systems"]) == set(SYSTEM_IDS)
    store = ModelStore(tmp_path / "cal")
    store.write("nba_predictions", "system_calibration", WEEK, artifacts[WEEK])
    stored = {WEEK: store.read("nba_predictions", "system_calibration", WEEK)}
    assert calibrations(stored) == {WEEK: json.loads(json.dumps(docs[WEEK]))}


@pytest.mark.parametrize("system_id", sorted(gbm.MODELS))
def test_weeks_trained_in_parallel_are_the_sequential_models_to_the_byte(real, tmp_path, system_id) -> None:
    """``build_models`` on two threads gives every week the bytes and the metadata of sequential
    training: the one-week-after-another loop (``workers=1``) and, independently of
    ``build_models``, each week's model trained on the main thread. The reuse rules hold the
    same: an off-season week shares the model of the week with its training set, a stored week with
    the fingerprint of its training set is read from the store."""
    import json

    from nba_assets.predictors.model_weeks import build_models

    features, summary = real["features"], real["summary"]
    spec, columns = gbm.MODELS[system_id], gbm.feature_columns()
    weeks = [date(2024, 4, 1), date(2024, 4, 8), date(2024, 7, 15), date(2024, 7, 22), date(2024, 11, 11), WEEK]
    parallel = build_models(system_id, weeks, features, summary, workers=2)
    sequential = build_models(system_id, weeks, features, summary, workers=1)
    assert list(parallel) == list(sequential) == weeks
    for week in weeks:
        assert parallel[week].files == sequential[week].files
        assert json.dumps(parallel[week].metadata, sort_keys=True) == json.dumps(
            sequential[week].metadata, sort_keys=True
        )
    trained = [w for w in weeks if "reused_from" not in parallel[w].metadata]
    assert parallel[date(2024, 7, 22)].metadata["reused_from"] == "2024-07-15"
    assert len(trained) == 5
    scored = gbm.scored_rows(features, summary)
    for week in trained:  # the reference: trained here, on this thread, one after the other
        reference = spec["train"](gbm.training_rows_of(scored, week), columns, week)
        assert parallel[week].metadata["status"] == "trained"
        assert parallel[week].files == {spec["file"]: reference.model_bytes}
        assert parallel[week].metadata["n_trees"] == reference.n_trees
        assert parallel[week].metadata["validation_mae"] == round(reference.validation_mae, 4)

    # A stored week with the same fingerprint is reused between weeks being trained on the threads.
    store = ModelStore(tmp_path / "models")
    stored_week = date(2024, 4, 8)
    store.write(
        "nba_predictions", "m", stored_week, Artifact({spec["file"]: b"stored"}, parallel[stored_week].metadata)
    )
    mixed = build_models(
        system_id, weeks, features, summary, lambda w: store.read("nba_predictions", "m", w), workers=2
    )
    assert mixed[stored_week].files == {spec["file"]: b"stored"}
    for week in weeks:
        if week != stored_week:
            assert mixed[week].files == sequential[week].files
            assert json.dumps(mixed[week].metadata, sort_keys=True) == json.dumps(
                sequential[week].metadata, sort_keys=True
            )


def _one_day_frames(features: pl.DataFrame, summary: pl.DataFrame, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The features and box scores a one-day run on ``day`` hands ``system_calibration`` (its partition
    mappings: [day − CAL_DAYS − 6, day − 1] and [day − CAL_DAYS − HISTORY_DAYS − 6, day − 1])."""
    cal, hist = walkforward.CAL_DAYS, walkforward.CAL_DAYS + HISTORY_DAYS
    last = day - timedelta(days=1)
    return (
        features.filter(pl.col("game_date").is_between(day - timedelta(days=cal + 6), last)),
        summary.filter(pl.col("game_date").is_between(day - timedelta(days=hist + 6), last)),
    )


def _changed_row(frame: pl.DataFrame, day: date, column: str) -> pl.DataFrame:
    """``frame`` with ``column`` of its first row dated ``day`` changed (+1)."""
    index = frame.with_row_index("_i").filter(pl.col("game_date") == day)["_i"][0]
    values = frame[column].cast(pl.Float64).to_list()
    values[index] += 1
    return frame.with_columns(pl.Series(column, values).cast(frame.schema[column]))


def test_a_stored_calibration_is_reused_only_while_its_inputs_are_unchanged(real, tmp_path) -> None:
    """``walkforward.build_artifacts``: a week is built (to the byte the document ``build`` gives)
    and stored with the fingerprint of its inputs; a run with the same inputs reuses it, whatever
    its frames (the whole range or a one-day run's windows, rows from the week on changed); a feature
    row or a box score before the week, or a model of a row's week, changed: the week is built again."""
    import json

    features, summary = real["features"], real["summary"]
    models = _train_weeks(features, summary, [WEEK - timedelta(days=7), WEEK], tmp_path / "m")
    store = ModelStore(tmp_path / "cal")

    def stored(week):
        return store.read("nba_predictions", "system_calibration", week)

    def run(f, s, m=models):
        out, reused = walkforward.build_artifacts([WEEK], f, s, m, week_of(FIRST), stored)
        return out[WEEK], reused

    built, reused = run(features, summary)
    assert reused == [] and built.metadata["status"] == "calibrated" and len(built.metadata["fingerprint"]) == 24
    doc = walkforward.build([WEEK], features, summary, summary, models, week_of(FIRST))[WEEK]
    assert built.files == {"calibration.json": json.dumps(doc, sort_keys=True).encode()}
    store.write("nba_predictions", "system_calibration", WEEK, built)

    # Unchanged inputs: reused as stored, from the whole frames or a one-day run's on D.
    again, reused = run(features, summary)
    assert reused == [WEEK] and again.files == built.files
    assert json.dumps(again.metadata, sort_keys=True) == json.dumps(built.metadata, sort_keys=True, default=str)
    f_day, s_day = _one_day_frames(features, summary, D)
    assert run(f_day, s_day)[1] == [WEEK]
    numeric = [c for c, t in features.schema.items() if t.is_numeric() and c != "player_id"]
    later_f = _perturb_from(features, WEEK, numeric)
    later_s = _perturb_from(summary, WEEK, ["pts", "minutes", "opp_pts"])
    assert run(later_f, later_s)[1] == [WEEK]  # rows from the week on are no input of the week

    fp = built.metadata["fingerprint"]
    lo = WEEK - timedelta(days=walkforward.CAL_DAYS)
    in_window = features.filter(pl.col("game_date").is_between(lo, WEEK, closed="left"))["game_date"].max()
    old_box = summary.filter(pl.col("game_date") < lo)["game_date"].max()  # a look-back row only
    assert in_window is not None and old_box is not None and old_box >= lo - timedelta(days=HISTORY_DAYS)
    for f, s, m in [
        (_changed_row(features, in_window, "pts_avg_l5"), summary, models),
        (features, _changed_row(summary, in_window, "pts"), models),
        (features, _changed_row(summary, old_box, "pts"), models),
    ]:
        rebuilt, reused = run(f, s, m)
        assert reused == [] and rebuilt.metadata["fingerprint"] != fp
        assert rebuilt.files == {
            "calibration.json": json.dumps(
                walkforward.build([WEEK], f, s, s, m, week_of(FIRST))[WEEK], sort_keys=True
            ).encode()
        }
    # Another model for a week of the rows: rebuilt too.
    model_week = WEEK - timedelta(days=7)
    other = ModelStore(tmp_path / "m2")
    spec = gbm.MODELS["lightgbm_v1"]
    trained = spec["train"](
        gbm.training_rows(features, summary, model_week, days=120), gbm.feature_columns(), model_week
    )
    meta = models["lightgbm_v1"][model_week].metadata
    assert trained.model_bytes != models["lightgbm_v1"][model_week].read(spec["file"])
    other.write("nba_predictions", "lightgbm_v1", model_week, Artifact({spec["file"]: trained.model_bytes}, meta))
    changed = {**models, "lightgbm_v1": {model_week: other.read("nba_predictions", "lightgbm_v1", model_week)}}
    rebuilt, reused = run(features, summary, changed)
    assert reused == [] and rebuilt.metadata["fingerprint"] != fp


def test_the_calibration_fingerprint_covers_the_code(real, monkeypatch) -> None:
    """A constant of the code a document is computed by, or one of its source files, changed: another
    fingerprint (a stored week is built again)."""
    from nba_assets.predictors import calibration

    features, summary = real["features"], real["summary"]

    def fingerprint() -> str:
        return walkforward.fingerprints([WEEK], features, summary, {}, week_of(FIRST))[WEEK]

    fp = fingerprint()
    assert fingerprint() == fp
    monkeypatch.setattr(calibration, "MIN_BUCKET", calibration.MIN_BUCKET + 1)
    assert fingerprint() != fp
    monkeypatch.undo()
    assert fingerprint() == fp
    source_digest = walkforward._source_digest
    monkeypatch.setattr(
        walkforward, "_source_digest", lambda p: "edited" if p.endswith("ensemble.py") else source_digest(p)
    )
    assert fingerprint() != fp


REUSE_SCRIPT = """
import json, sys
from datetime import date
import polars as pl
from nba_assets.io.model_store import ModelStore
from nba_assets.predictors import walkforward

features_file, summary_file, models_root, cal_root, week, first = sys.argv[1:7]
week = date.fromisoformat(week)
features, summary = pl.read_parquet(features_file), pl.read_parquet(summary_file)
models_store, store = ModelStore(models_root), ModelStore(cal_root)
models = {
    s: {w: models_store.read("nba_predictions", s, w) for w in models_store.stored_weeks("nba_predictions", s)}
    for s in ("lightgbm_v1", "xgboost_v1")
}
before = store.read("nba_predictions", "system_calibration", week)
out, reused = walkforward.build_artifacts(
    [week], features, summary, models, date.fromisoformat(first),
    lambda w: store.read("nba_predictions", "system_calibration", w),
)
same = before is not None and out[week].files["calibration.json"] == before.read("calibration.json")
imported = sorted(m for m in ("lightgbm", "xgboost", "scipy") if m in sys.modules)
store.write("nba_predictions", "system_calibration", week, out[week])  # as the IO manager does
print(json.dumps({"reused": [w.isoformat() for w in reused], "same": same, "imported": imported}))
"""


def test_a_reused_calibration_loads_no_model_library(real, tmp_path) -> None:
    """A one-day run's week, built and stored by a first process, is read back by a second one with
    the same inputs: that process imports neither LightGBM, XGBoost nor SciPy (the first did)."""
    import json
    import os
    import subprocess
    import sys

    from .conftest import REPO

    features, summary = _one_day_frames(real["features"], real["summary"], D)
    _train_weeks(real["features"], real["summary"], [WEEK - timedelta(days=7), WEEK], tmp_path / "m")
    features.write_parquet(tmp_path / "features.parquet")
    summary.write_parquet(tmp_path / "summary.parquet")
    script = tmp_path / "reuse.py"
    script.write_text(REUSE_SCRIPT)
    args = [str(tmp_path / n) for n in ("features.parquet", "summary.parquet", "m", "cal")]

    def run() -> dict:
        proc = subprocess.run(
            [sys.executable, str(script), *args, WEEK.isoformat(), week_of(FIRST).isoformat()],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        return json.loads(proc.stdout.decode().strip().splitlines()[-1])

    assert run() == {"reused": [], "same": False, "imported": ["lightgbm", "scipy", "xgboost"]}
    assert run() == {"reused": [WEEK.isoformat()], "same": True, "imported": []}


def test_weeks_documented_on_two_threads_are_the_sequential_documents(real, tmp_path) -> None:
    """``walkforward.build`` computes the weeks' documents two at a time: every document is the one
    the one-week-after-another loop gives, to the byte (``json.dumps(sort_keys=True)``)."""
    import json

    features, summary = real["features"], real["summary"]
    weeks = [WEEK - timedelta(days=7 * k) for k in range(3, -1, -1)]  # from 2024-10-28: rows in every window
    models = _train_weeks(features, summary, weeks[-3:], tmp_path / "m")
    sequential = walkforward.build(weeks, features, summary, summary, models, week_of(FIRST), workers=1)
    threaded = walkforward.build(weeks, features, summary, summary, models, week_of(FIRST), workers=2)
    assert list(threaded) == list(sequential) == weeks
    assert all(sequential[w]["rows"] > 500 for w in weeks) and sequential[WEEK]["rows"] > 1000
    assert sequential[WEEK]["ensemble"]
    for week in weeks:
        assert json.dumps(threaded[week], sort_keys=True) == json.dumps(sequential[week], sort_keys=True)
