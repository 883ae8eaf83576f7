"""Grading: every prediction against what happened, per-system daily figures and the backtest report."""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from nba_assets.facts import week_start
from nba_assets.predictors.calibration import wilson
from nba_assets.schemas import schema_for

DEFAULT_PRICE = -110
DEFAULT_OVER_RATE = 0.5
POLICY_MIN_CALLS = 500
POLICY_TARGET = 0.53
EDGE_BUCKETS = [("lt2", None, 2.0), ("2_4", 2.0, 4.0), ("ge4", 4.0, None)]
LOG_LOSS_EPS = 1e-6


def _win_units(price: pl.Expr) -> pl.Expr:
    return pl.when(price > 0).then(price / 100.0).otherwise(100.0 / price.abs())


def grade(predictions: pl.DataFrame, actuals: pl.DataFrame, graded_at: datetime) -> pl.DataFrame:
    """predictions: player_prop_predictions; actuals: player_game_summary of the same dates.

    void: the player did not play (DNP: no summary row); push: the points equal the line;
    correct/incorrect: an OVER/UNDER call against the outcome; no_bet: PASS or NO_LINE.
    units: the return of a 1-unit bet at the best price of the called side when the books gave
    prices, else at -110 (``priced_at``); 0 for a push, null when there was no bet or it is void.
    """
    schema = schema_for("nba_predictions", "prediction_accuracy")
    played = actuals.select("game_id", "player_id", pl.col("pts").alias("actual_points"), pl.lit(True).alias("played"))
    price = (
        pl.when(pl.col("recommendation") == "OVER")
        .then(pl.col("best_over_price"))
        .when(pl.col("recommendation") == "UNDER")
        .then(pl.col("best_under_price"))
    )
    out = (
        predictions.join(played, on=["game_id", "player_id"], how="left")
        .with_columns(
            pl.col("played").fill_null(False),
            (pl.col("predicted_points") - pl.col("actual_points")).alias("signed_error"),
            price.alias("_price"),
        )
        .with_columns(
            pl.col("signed_error").abs().alias("absolute_error"),
            pl.when(pl.col("actual_points").is_null() | pl.col("points_line").is_null())
            .then(None)
            .when(pl.col("actual_points") > pl.col("points_line"))
            .then(pl.lit("OVER"))
            .when(pl.col("actual_points") < pl.col("points_line"))
            .then(pl.lit("UNDER"))
            .otherwise(pl.lit("PUSH"))
            .alias("line_outcome"),
            pl.lit(graded_at).cast(pl.Datetime("us", "UTC")).alias("graded_at"),
        )
        .with_columns(
            pl.when(~pl.col("played"))
            .then(pl.lit("void"))
            .when(~pl.col("recommendation").is_in(["OVER", "UNDER"]))
            .then(pl.lit("no_bet"))
            .when(pl.col("line_outcome") == "PUSH")
            .then(pl.lit("push"))
            .when(pl.col("line_outcome") == pl.col("recommendation"))
            .then(pl.lit("correct"))
            .otherwise(pl.lit("incorrect"))
            .alias("grade")
        )
        .with_columns(
            pl.when(pl.col("grade").is_in(["correct", "incorrect", "push"]))
            .then(pl.coalesce(pl.col("_price"), pl.lit(DEFAULT_PRICE)))
            .alias("price"),
            pl.when(pl.col("grade").is_in(["correct", "incorrect", "push"]))
            .then(pl.when(pl.col("_price").is_not_null()).then(pl.lit("actual")).otherwise(pl.lit(str(DEFAULT_PRICE))))
            .alias("priced_at"),
        )
        .with_columns(
            pl.when(pl.col("grade") == "correct")
            .then(_win_units(pl.col("price").cast(pl.Float64)))
            .when(pl.col("grade") == "incorrect")
            .then(-1.0)
            .when(pl.col("grade") == "push")
            .then(0.0)
            .alias("units")
        )
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "player_id", "system_id")


def _graded_exprs() -> list[pl.Expr]:
    played = pl.col("played") & pl.col("absolute_error").is_not_null()
    lined = played & pl.col("points_line").is_not_null()
    bet = pl.col("grade").is_in(["correct", "incorrect"])
    hit = pl.col("grade") == "correct"
    over, under = pl.col("recommendation") == "OVER", pl.col("recommendation") == "UNDER"
    brier_rows = pl.col("p_over").is_not_null() & pl.col("line_outcome").is_in(["OVER", "UNDER"]) & pl.col("played")
    y = (pl.col("line_outcome") == "OVER").cast(pl.Float64)
    p = pl.col("p_over").clip(LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    edge = pl.col("edge").abs()
    exprs = [
        pl.len().cast(pl.Int64).alias("predictions"),
        played.sum().cast(pl.Int64).alias("graded"),
        pl.col("absolute_error").filter(played).mean().alias("mae"),
        pl.col("signed_error").filter(played).mean().alias("bias"),
        lined.sum().cast(pl.Int64).alias("lined"),
        pl.col("absolute_error").filter(lined).mean().alias("mae_lined"),
        (pl.col("points_line") - pl.col("actual_points")).abs().filter(lined).mean().alias("line_mae"),
        (pl.col("absolute_error") <= 3).filter(played).mean().alias("within_3"),
        (pl.col("absolute_error") <= 5).filter(played).mean().alias("within_5"),
        bet.sum().cast(pl.Int64).alias("bets"),
        hit.sum().cast(pl.Int64).alias("hits"),
        (bet & over).sum().cast(pl.Int64).alias("over_bets"),
        (hit & over).sum().cast(pl.Int64).alias("over_hits"),
        (bet & under).sum().cast(pl.Int64).alias("under_bets"),
        (hit & under).sum().cast(pl.Int64).alias("under_hits"),
        (pl.col("grade") == "push").sum().cast(pl.Int64).alias("pushes"),
        (pl.col("grade") == "void").sum().cast(pl.Int64).alias("voids"),
        brier_rows.sum().cast(pl.Int64).alias("brier_n"),
        ((pl.col("p_over") - y) ** 2).filter(brier_rows).mean().alias("brier"),
        (-(y * p.log() + (1 - y) * (1 - p).log())).filter(brier_rows).mean().alias("log_loss"),
        pl.col("units").filter(pl.col("grade").is_in(["correct", "incorrect", "push"])).sum().alias("units"),
        pl.when((pl.col("priced_at") == "actual").any())
        .then(pl.lit("actual"))
        .otherwise(pl.lit("-110"))
        .alias("priced_at"),
    ]
    for name, lo, hi in EDGE_BUCKETS:
        in_bucket = (edge >= lo if lo is not None else pl.lit(True)) & (edge < hi if hi is not None else pl.lit(True))
        exprs += [
            (bet & in_bucket).sum().cast(pl.Int64).alias(f"bets_edge_{name}"),
            (hit & in_bucket).sum().cast(pl.Int64).alias(f"hits_edge_{name}"),
        ]
    return exprs


def _rates(frame: pl.DataFrame) -> pl.DataFrame:
    def rate(h: str, n: str) -> pl.Expr:
        return pl.when(pl.col(n) > 0).then(pl.col(h) / pl.col(n)).otherwise(None)

    return frame.with_columns(
        rate("hits", "bets").alias("hit_rate"),
        rate("over_hits", "over_bets").alias("over_hit_rate"),
        rate("under_hits", "under_bets").alias("under_hit_rate"),
        pl.when(pl.col("bets") + pl.col("pushes") > 0)
        .then(pl.col("units") / (pl.col("bets") + pl.col("pushes")))
        .otherwise(None)
        .alias("roi"),
    )


def daily_performance(accuracy: pl.DataFrame) -> pl.DataFrame:
    """One row per (game_date, system_id): MAE, bias, hit rates, Brier, log loss, ROI."""
    schema = schema_for("nba_predictions", "system_daily_performance")
    if accuracy.height == 0:
        return pl.DataFrame(schema=schema)
    out = _rates(accuracy.group_by("game_date", "system_id").agg(_graded_exprs()))
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "system_id")


def summarize(accuracy: pl.DataFrame) -> dict[str, float | int | None]:
    """Headline figures: MAE over players who played, hit rate over graded OVER/UNDER calls."""
    played = accuracy.filter(pl.col("played") & pl.col("absolute_error").is_not_null())
    bets = accuracy.filter(pl.col("grade").is_in(["correct", "incorrect"]))
    hits = bets.filter(pl.col("grade") == "correct").height
    lined = played.filter(pl.col("points_line").is_not_null())
    line_mae = (lined["points_line"] - lined["actual_points"]).abs().mean() if lined.height else None
    return {
        "predictions": accuracy.height,
        "graded_played": played.height,
        "mae": round(float(played["absolute_error"].mean()), 3) if played.height else None,
        "mae_on_lined_rows": round(float(lined["absolute_error"].mean()), 3) if lined.height else None,
        "line_mae": round(float(line_mae), 3) if line_mae is not None else None,
        "bets": bets.height,
        "hit_rate": round(hits / bets.height, 4) if bets.height else None,
        "voids": accuracy.filter(pl.col("grade") == "void").height,
        "pushes": accuracy.filter(pl.col("grade") == "push").height,
    }


# ----------------------------------------------------------------------------------- backtest


def _monday(col: str = "game_date") -> pl.Expr:
    return week_start(col)


def past_over_rates(accuracy: pl.DataFrame) -> pl.DataFrame:
    """Per week W (Monday): the over-rate of the lined player-games played before W (pushes out).

    The constant a P(over) has to beat: what anyone knew of how often lines went over before the
    week, nothing from the week itself. DEFAULT_OVER_RATE (0.5) before any lined game.
    """
    schema = {"_week": pl.Date, "past_over_rate": pl.Float64, "past_over_rows": pl.Int64}
    if accuracy.height == 0:
        return pl.DataFrame(schema=schema)
    games = (
        accuracy.filter(pl.col("played") & pl.col("line_outcome").is_in(["OVER", "UNDER"]))
        .unique(["game_date", "game_id", "player_id"])
        .with_columns(_monday().alias("_week"))
        .group_by("_week")
        .agg(pl.len().alias("n"), (pl.col("line_outcome") == "OVER").sum().alias("overs"))
    )
    weeks = accuracy.select(_monday().alias("_week")).unique().sort("_week")
    out = []
    for (week,) in weeks.iter_rows():
        before = games.filter(pl.col("_week") < week)
        n, overs = int(before["n"].sum()), int(before["overs"].sum())
        out.append((week, overs / n if n else DEFAULT_OVER_RATE, n))
    return pl.DataFrame(out, schema=schema, orient="row")


def _brier_logloss(p: pl.Series, y: pl.Series) -> tuple[float | None, float | None]:
    if p.len() == 0:
        return None, None
    q = p.cast(pl.Float64).clip(LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    brier = float(((p.cast(pl.Float64) - y) ** 2).mean())
    ll = float((-(y * q.log() + (1 - y) * (1 - q).log())).mean())
    return round(brier, 5), round(ll, 5)


def backtest(accuracy: pl.DataFrame, features: pl.DataFrame) -> dict:
    """Every system next to the line and a season-average baseline on the SAME player-games.

    Same rows: player-games that were played, had a pre-tip line, and got a prediction from every
    system present in the window. Hit rates count each system's own OVER/UNDER calls on them.
    """
    systems = sorted(accuracy["system_id"].unique().to_list()) if accuracy.height else []
    keys = ["game_date", "game_id", "player_id"]
    ok = accuracy.filter(
        pl.col("played") & pl.col("points_line").is_not_null() & pl.col("predicted_points").is_not_null()
    )
    counts = ok.group_by(keys).agg(pl.col("system_id").n_unique().alias("_n"))
    common = counts.filter(pl.col("_n") == len(systems)).select(keys) if systems else counts.select(keys)
    rows = ok.join(common, on=keys, how="inner").with_columns(_monday().alias("_week"))
    base = (
        rows.select(*keys, "points_line", "actual_points")
        .unique(keys)
        .join(features.select(*keys, "pts_avg_season"), on=keys, how="left")
    )
    past_rate = past_over_rates(accuracy)
    rows = rows.join(past_rate, on="_week", how="left")
    report: dict = {
        "window": [str(accuracy["game_date"].min()), str(accuracy["game_date"].max())] if accuracy.height else None,
        "same_rows": common.height,
        "systems_compared": systems,
        "line_mae": _mae(base["points_line"], base["actual_points"]),
        "season_avg_mae": _mae(base["pts_avg_season"], base["actual_points"]),
        "season_avg_rows": int(base["pts_avg_season"].is_not_null().sum()),
        "systems": {},
        "calibration": {},
    }
    for system in systems:
        s = rows.filter(pl.col("system_id") == system)
        bets = s.filter(pl.col("grade").is_in(["correct", "incorrect"]))
        hits = int((bets["grade"] == "correct").sum())
        entry = {
            "mae": _mae(s["predicted_points"], s["actual_points"]),
            "bias": round(float((s["predicted_points"] - s["actual_points"]).mean()), 3) if s.height else None,
            "bets": bets.height,
            "hits": hits,
            "hit_rate": round(hits / bets.height, 4) if bets.height else None,
            "hit_rate_ci95": wilson(hits, bets.height),
            "pushes": int((s["grade"] == "push").sum()),
            "units": round(float(bets["units"].sum()), 2) if bets.height else 0.0,
        }
        for side in ("OVER", "UNDER"):
            b = bets.filter(pl.col("recommendation") == side)
            h = int((b["grade"] == "correct").sum())
            entry[side.lower()] = {"bets": b.height, "hits": h, "ci95": wilson(h, b.height)}
        prob = s.filter(pl.col("p_over").is_not_null() & pl.col("line_outcome").is_in(["OVER", "UNDER"]))
        y = (prob["line_outcome"] == "OVER").cast(pl.Float64)
        entry["brier_n"] = prob.height
        entry["brier"], entry["log_loss"] = _brier_logloss(prob["p_over"], y)
        # The same rows scored by the constant past over-rate of each row's week, and by the coin.
        entry["brier_const"], entry["log_loss_const"] = _brier_logloss(prob["past_over_rate"], y)
        entry["brier_coin"], entry["log_loss_coin"] = _brier_logloss(pl.Series([0.5] * prob.height), y)
        report["systems"][system] = entry
        report["calibration"][system] = _calibration_table(prob)
    lined = rows.filter(pl.col("line_outcome").is_in(["OVER", "UNDER"])).unique(keys)
    report["constant_past_over_rate"] = {
        "mean": round(float(lined["past_over_rate"].mean()), 4) if lined.height else None,
        "observed_over_rate": round(float((lined["line_outcome"] == "OVER").mean()), 4) if lined.height else None,
        "rows": lined.height,
        "by_week": {
            str(w): r
            for w, r in past_rate.select("_week", pl.col("past_over_rate").round(4)).iter_rows()
            if lined.height and w in set(lined["_week"].to_list())
        },
    }
    report["targets"] = targets(report)
    return report


def targets(report: dict) -> dict:
    """The issue's three targets, measured on the report's rows: reached or not, with the figures."""
    sy = report["systems"]
    ens = sy.get("ensemble_v1", {}).get("mae")
    line = report["line_mae"]
    scored = {s: e for s, e in sy.items() if e.get("brier") is not None}
    best = min(scored, key=lambda s: scored[s]["brier"]) if scored else None
    policies = {s: e for s, e in sy.items() if e["bets"] >= POLICY_MIN_CALLS}
    top = max(policies, key=lambda s: (policies[s]["hit_rate"], policies[s]["bets"])) if policies else None
    return {
        "ensemble_mae_below_line": {
            "reached": ens is not None and line is not None and ens < line,
            "ensemble_mae": ens,
            "line_mae": line,
        },
        "brier_below_constant": {
            "reached": best is not None and scored[best]["brier"] < scored[best]["brier_const"],
            "system": best,
            "brier": scored[best]["brier"] if best else None,
            "brier_const": scored[best]["brier_const"] if best else None,
        },
        "policy_53_over_500": {
            "reached": top is not None and policies[top]["hit_rate"] >= POLICY_TARGET,
            "system": top,
            "hit_rate": policies[top]["hit_rate"] if top else None,
            "bets": policies[top]["bets"] if top else 0,
        },
    }


def _mae(pred: pl.Series, actual: pl.Series) -> float | None:
    d = (pred.cast(pl.Float64) - actual.cast(pl.Float64)).drop_nulls()
    return round(float(d.abs().mean()), 3) if d.len() else None


def _calibration_table(prob: pl.DataFrame, bins: int = 10) -> list[dict]:
    """Reliability: the rows cut into ``bins`` equal-count bins of P(over) (a calibrated P(over) sits
    in a narrow band, where fixed-width deciles would leave one or two bins), each with its P(over)
    range, mean P(over) and observed over rate."""
    if prob.height == 0:
        return []
    t = prob.sort("p_over", "game_date", "game_id", "player_id").with_columns(
        (pl.int_range(pl.len()) * bins // pl.len()).alias("bin"),
        (pl.col("line_outcome") == "OVER").cast(pl.Float64).alias("_y"),
    )
    agg = t.group_by("bin").agg(
        pl.len().alias("n"),
        pl.col("p_over").min().alias("lo"),
        pl.col("p_over").max().alias("hi"),
        pl.col("p_over").mean().alias("mean_p_over"),
        pl.col("_y").mean().alias("observed"),
    )
    return [
        {
            "decile": f"{lo:.3f}-{hi:.3f}",
            "n": n,
            "mean_p_over": round(p, 4),
            "observed_over_rate": round(o, 4),
        }
        for _, n, lo, hi, p, o in agg.sort("bin").iter_rows()
    ]


def _pct(x: float | None) -> str:
    return f"{100 * x:.1f} %" if x is not None else "–"


def _ci(ci) -> str:
    lo, hi = ci if ci else (None, None)
    return f"{100 * lo:.1f}–{100 * hi:.1f} %" if lo is not None else "–"


def _f(x, digits: int = 5) -> str:
    return f"{x:.{digits}f}" if x is not None else "–"


def _ordered(report: dict) -> list[str]:
    return sorted(report["systems"], key=lambda s: (report["systems"][s]["mae"] is None, report["systems"][s]["mae"]))


def readme_table(report: dict) -> str:
    """The README's table of the six systems against the line, from a backtest report dict."""
    n = report["same_rows"]
    lines = [
        f"| on the same {n:,} player-games | MAE | hit rate (calls) | Wilson 95 % | Brier | Brier, constant past "
        "over-rate | log loss | log loss, constant |",
        "|---|---|---|---|---|---|---|---|",
        f"| the line | {_f(report['line_mae'], 3)} | | | | | | |",
        f"| season average | {_f(report['season_avg_mae'], 3)} | | | | | | |",
    ]
    for system in _ordered(report):
        e = report["systems"][system]
        lines.append(
            f"| `{system}` | {_f(e['mae'], 3)} | {_pct(e['hit_rate'])} ({e['bets']:,}) | {_ci(e['hit_rate_ci95'])} "
            f"| {_f(e['brier'])} | {_f(e['brier_const'])} | {_f(e['log_loss'])} | {_f(e['log_loss_const'])} |"
        )
    lines += ["", *targets_lines(report)]
    return "\n".join(lines)


def targets_lines(report: dict) -> list[str]:
    t = report.get("targets") or targets(report)
    yes = {True: "**reached**", False: "**not reached**"}
    m, b, p = t["ensemble_mae_below_line"], t["brier_below_constant"], t["policy_53_over_500"]
    return [
        f"- ensemble MAE below the line's: {yes[m['reached']]} ({_f(m['ensemble_mae'], 3)} vs {_f(m['line_mae'], 3)})",
        f"- best Brier below the constant past over-rate's: {yes[b['reached']]} (`{b['system']}` "
        f"{_f(b['brier'])} vs {_f(b['brier_const'])}; the coin scores 0.25000)",
        f"- a policy hitting ≥ {POLICY_TARGET:.0%} over ≥ {POLICY_MIN_CALLS} calls: {yes[p['reached']]} "
        f"(best with ≥ {POLICY_MIN_CALLS} calls: `{p['system']}` {_pct(p['hit_rate'])} of {p['bets']:,})",
    ]


def backtest_markdown(report: dict) -> str:
    lines = [
        f"### Backtest {report['window'][0]} .. {report['window'][1]}"
        if report["window"]
        else "### Backtest (no rows)",
        "",
        f"Same player-games for every system: **{report['same_rows']:,}** (played, pre-tip line, every system "
        f"predicted). Line MAE **{report['line_mae']}**; season-average baseline MAE **{report['season_avg_mae']}**. "
        "Brier and log loss next to the constant past over-rate (the over-rate of the lined player-games before "
        "each row's week, 0.5 before any) and the coin (0.25000 / 0.69315).",
        "",
        "| system | MAE | bias | bets | hit rate | Wilson 95 % | OVER hits/bets | UNDER hits/bets "
        "| Brier | Brier const | Brier coin | log loss | log loss const | units at price |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for system in _ordered(report):
        e = report["systems"][system]
        over, under = e["over"], e["under"]
        lines.append(
            f"| {system} | {e['mae']} | {e['bias']} | {e['bets']} | {_pct(e['hit_rate'])} | {_ci(e['hit_rate_ci95'])} "
            f"| {over['hits']}/{over['bets']} ({_ci(over['ci95'])}) | {under['hits']}/{under['bets']} "
            f"({_ci(under['ci95'])}) | {_f(e['brier'])} | {_f(e.get('brier_const'))} | {_f(e.get('brier_coin'))} "
            f"| {_f(e['log_loss'])} | {_f(e.get('log_loss_const'))} | {e['units']} |"
        )
    lines += ["", "Targets:", "", *targets_lines(report)] if report["systems"] else []
    lines += ["", "Calibration (tenths of the rows by P(over): P(over) range → observed over rate, n):", ""]
    for system, table in report["calibration"].items():
        cells = ", ".join(f"{r['decile']}: {r['observed_over_rate']} (n={r['n']})" for r in table)
        lines.append(f"- **{system}**: {cells}")
    return "\n".join(lines)


def backtest_plot(report: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(report["systems"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = [*systems, "line", "season avg"]
    maes = [report["systems"][s]["mae"] for s in systems] + [report["line_mae"], report["season_avg_mae"]]
    ax1.barh(
        names,
        [m if m is not None else math.nan for m in maes],
        color=["#4c72b0"] * len(systems) + ["#dd8452", "#999999"],
    )
    if report["line_mae"] is not None:
        ax1.axvline(report["line_mae"], color="#dd8452", linestyle="--", linewidth=1)
    ax1.set_xlabel(f"MAE on the same {report['same_rows']:,} player-games")
    finite = [m for m in maes if m is not None]
    if finite:
        ax1.set_xlim(min(finite) - 0.5, max(finite) + 0.3)
    ax2.plot([0, 1], [0, 1], color="#999999", linewidth=1)
    for system, table in report["calibration"].items():
        if table:
            ax2.plot(
                [r["mean_p_over"] for r in table], [r["observed_over_rate"] for r in table], marker="o", label=system
            )
    const = report.get("constant_past_over_rate") or {}
    if const.get("mean") is not None:
        ax2.plot(
            [const["mean"]], [const["observed_over_rate"]], marker="X", color="black", linestyle="",
            markersize=9, label="constant past over-rate",
        )  # fmt: skip
    shown = [r[k] for t in report["calibration"].values() for r in t for k in ("mean_p_over", "observed_over_rate")]
    if shown:
        lo, hi = max(0.0, min(shown) - 0.05), min(1.0, max(shown) + 0.05)
        ax2.set_xlim(lo, hi)
        ax2.set_ylim(lo, hi)
    ax2.set_xlabel("P(over) (mean of each tenth of the rows)")
    ax2.set_ylabel("observed over rate")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, format="png")
    plt.close(fig)


if (
    __name__ == "__main__"
):  # the README's table from a stored report: python -m nba_assets.transforms.grading latest.json
    import json
    import sys

    print(readme_table(json.loads(open(sys.argv[1]).read())))
