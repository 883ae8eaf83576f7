"""Who is probably out tonight, from pre-tip information only: ``nba_precompute.player_availability``.

One row per player × game date D for every player who appeared for a team playing on D in that
team's last ROTATION_GAMES games before D (his team: the one of his latest game before D). The
box-score history is cut, for each D, to the HISTORY_DAYS days strictly before D (like
``predictors/similarity.py:history_of``), so a day's rows are the same whatever range computes it.

The signal (the lines themselves): the books and DFS sites post a line before tip-off for the
players they expect to play. A rotation player (ROTATION_MINUTES or more a game over his team's
last ROTATION_GAMES games, the games he missed counted as 0) who has no pre-tip line tonight while
at least MIN_TEAM_LINES of his teammates do is ``probably_out``. Where the team's game has no line
at all (every date of the repo's data outside 2024-10-22..2024-12-15, and any game the feed
missed) the signal does not exist: ``lines_signal`` is false and ``probably_out`` is null — not
false. There is no history of injury reports in the data and none is invented here.

Features for each player from his teammates' flags: how many rotation teammates are probably
out, the minutes a game they vacate (their recent minutes), their share of the team's recent
usage (FGA + 0.44·FTA + TOV) and points, and the player's own role change (minutes over the
team's last 3 games minus over its last ROTATION_GAMES).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from nba_assets.facts import HISTORY_DAYS
from nba_assets.predictors.days import map_days
from nba_assets.schemas import schema_for
from nba_assets.transforms.asof import fixed, unfixed
from nba_assets.transforms.lines import consensus_lines

DATASET, TABLE = "nba_precompute", "player_availability"
ROTATION_GAMES = 10
RECENT_GAMES = 3
ROTATION_MINUTES = 20.0
MIN_TEAM_LINES = 2


def _usage() -> pl.Expr:
    return pl.col("fga").fill_null(0) + 0.44 * pl.col("fta").fill_null(0) + pl.col("tov").fill_null(0)


def availability_day(day: date, schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """The rows of D from D's schedule, D's props and any box-score history (cut here to before D)."""
    schema = schema_for(DATASET, TABLE)
    games = schedule.filter((pl.col("game_date") == day) & ~pl.col("postponed").fill_null(False))
    hist = history.filter(pl.col("game_date").is_between(day - timedelta(days=HISTORY_DAYS), day, closed="left"))
    if games.height == 0 or hist.height == 0:
        return pl.DataFrame(schema=schema)
    sides = pl.concat(
        [
            games.select("game_id", pl.col("home_team").alias("team"), pl.col("away_team").alias("opponent")),
            games.select("game_id", pl.col("away_team").alias("team"), pl.col("home_team").alias("opponent")),
        ]
    )
    # Each team's last ROTATION_GAMES games before D, newest first (rank 1 = its latest game).
    team_games = (
        hist.select("team", "game_id", "game_date")
        .unique()
        .sort(["team", "game_date", "game_id"], descending=[False, True, True])
        .with_columns(pl.col("game_id").cum_count().over("team").alias("rank"))
        .filter(pl.col("rank") <= ROTATION_GAMES)
    )
    n_team = team_games.group_by("team").agg(pl.len().cast(pl.Int64).alias("team_games_recent"))
    rows = hist.join(team_games.select("team", "game_id", "rank"), on=["team", "game_id"], how="inner")
    # Usage is fractional (0.44·FTA): summed as fixed-point integers (``asof.fixed``), exact in any
    # row order, so a day's shares are the same to the bit whatever frame the run hands in.
    rows = rows.with_columns(fixed(_usage()).alias("_usage"))
    totals = rows.group_by("team").agg(
        unfixed(pl.col("_usage").sum()).alias("_team_usage"), pl.col("pts").cast(pl.Float64).sum().alias("_team_pts")
    )
    latest = (
        hist.sort(["game_date", "game_id"])
        .group_by("player_id")
        .agg(pl.col("team").last().alias("_latest_team"), pl.col("player_lookup").last(), pl.col("player_name").last())
    )
    per_player = (
        rows.group_by("team", "player_id")
        .agg(
            pl.len().cast(pl.Int64).alias("games_played_recent"),
            pl.col("minutes").cast(pl.Float64).fill_null(0).sum().alias("_min"),
            pl.col("minutes").cast(pl.Float64).fill_null(0).filter(pl.col("rank") <= RECENT_GAMES).sum().alias("_m3"),
            unfixed(pl.col("_usage").sum()).alias("_u"),
            pl.col("pts").cast(pl.Float64).sum().alias("_p"),
            pl.col("points_line").is_not_null().sum().cast(pl.Int64).alias("lined_recent"),
        )
        .join(latest, on="player_id", how="inner")
        .filter(pl.col("team") == pl.col("_latest_team"))
        .join(n_team, on="team", how="inner")
        .join(totals, on="team", how="inner")
    )
    lines = consensus_lines(props.filter(pl.col("game_date") == day)).filter(pl.col("player_id").is_not_null())
    lined_ids = lines.select("game_id", "player_id", pl.lit(True).alias("has_line")).unique(["game_id", "player_id"])
    lined_games = lines.select("game_id").unique().with_columns(pl.lit(True).alias("lines_signal"))
    recent3 = pl.min_horizontal(pl.col("team_games_recent"), pl.lit(RECENT_GAMES)).cast(pl.Float64)
    out = (
        sides.join(per_player, on="team", how="inner")
        .join(lined_ids, on=["game_id", "player_id"], how="left")
        .join(lined_games, on="game_id", how="left")
        .with_columns(
            pl.lit(day).alias("game_date"),
            pl.col("has_line").fill_null(False),
            pl.col("lines_signal").fill_null(False),
            (pl.col("_min") / pl.col("team_games_recent")).alias("minutes_recent"),
            (pl.col("_m3") / recent3).alias("minutes_l3"),
            (pl.col("_p") / pl.col("team_games_recent")).alias("points_recent"),
            pl.when(pl.col("_team_usage") > 0).then(pl.col("_u") / pl.col("_team_usage")).alias("usage_share_recent"),
            pl.when(pl.col("_team_pts") > 0).then(pl.col("_p") / pl.col("_team_pts")).alias("points_share_recent"),
        )
        .with_columns(
            (pl.col("minutes_l3") - pl.col("minutes_recent")).alias("role_change"),
            (pl.col("minutes_recent") >= ROTATION_MINUTES).alias("is_rotation"),
            pl.col("has_line").sum().over("game_id", "team").cast(pl.Int64).alias("team_lined"),
        )
        .with_columns(
            pl.when(~pl.col("lines_signal"))
            .then(None)
            .otherwise(pl.col("is_rotation") & ~pl.col("has_line") & (pl.col("team_lined") >= MIN_TEAM_LINES))
            .alias("probably_out")
        )
    )
    out_flag = pl.col("probably_out").fill_null(False)
    team_sum = ["game_id", "team"]
    out = out.with_columns(
        (out_flag.cast(pl.Int64).sum().over(team_sum) - out_flag.cast(pl.Int64)).alias("teammates_out"),
        (
            unfixed(fixed(pl.col("minutes_recent")).filter(out_flag).sum().over(team_sum))
            - pl.when(out_flag).then(unfixed(fixed(pl.col("minutes_recent")))).otherwise(0.0)
        ).alias("vacated_minutes"),
        (
            unfixed(fixed(pl.col("usage_share_recent")).filter(out_flag).sum().over(team_sum))
            - pl.when(out_flag).then(unfixed(fixed(pl.col("usage_share_recent")))).otherwise(0.0)
        ).alias("vacated_usage_share"),
        (
            unfixed(fixed(pl.col("points_share_recent")).filter(out_flag).sum().over(team_sum))
            - pl.when(out_flag).then(unfixed(fixed(pl.col("points_share_recent")))).otherwise(0.0)
        ).alias("vacated_points_share"),
    )
    # Without the signal the teammates' figures are unknown, not zero.
    unknown = ["teammates_out", "vacated_minutes", "vacated_usage_share", "vacated_points_share"]
    out = out.with_columns([pl.when(pl.col("lines_signal")).then(pl.col(c)).alias(c) for c in unknown])
    return out.select(schema.names()).cast(dict(schema)).sort("game_id", "team", "player_id")


def player_availability(
    schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame, days: list[date] | None = None
) -> pl.DataFrame:
    """The rows of every game date of ``days`` (default: every date of ``schedule``)."""
    days = sorted(set(schedule["game_date"].to_list())) if days is None else sorted(days)
    # Days side by side (each a function of its own day), concatenated in date order.
    parts = map_days(lambda d: availability_day(d, schedule, props, history), days)
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema_for(DATASET, TABLE))


# ------------------------------------------------------------------------------- minutes model
#
# ``nba_predictions.player_minutes``: the minutes each player of D's availability table will play
# (0 when he does not play), a ridge regression fitted for D on the availability rows of the
# MINUTES_TRAIN_DAYS days before D joined to the minutes actually played (0 for a player who did
# not play), then points as minutes × his recent points per minute. Features: recent minutes (last
# 10 / last 3 team games), the share of the team's last 10 games he played, rotation, and — where
# the lines exist — has a line, probably out, and the vacated minutes times his share of the
# team's minutes. Without MIN_MINUTES_ROWS training rows, his recent minutes stand in.

MINUTES_TRAIN_DAYS = 91
MIN_MINUTES_ROWS = 500
MINUTES_RIDGE = 10.0
MINUTES_TABLE = "player_minutes"


def _minutes_features(frame: pl.DataFrame) -> pl.DataFrame:
    signal = pl.col("lines_signal").cast(pl.Float64)
    return frame.select(
        pl.col("minutes_recent").fill_null(0.0),
        pl.col("minutes_l3").fill_null(0.0),
        (pl.col("games_played_recent") / pl.col("team_games_recent")).fill_null(0.0).alias("played_share"),
        pl.col("is_rotation").cast(pl.Float64),
        signal.alias("signal"),
        (signal * pl.col("has_line").cast(pl.Float64)).alias("lined"),
        pl.col("probably_out").fill_null(False).cast(pl.Float64).alias("out"),
        (pl.col("vacated_minutes").fill_null(0.0) * pl.col("minutes_recent").fill_null(0.0) / 240.0).alias("gain"),
    )


def minutes_day(day: date, availability_rows: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """player_minutes of D from the availability table (D and the days before it) and the box scores
    before D (each cut here to MINUTES_TRAIN_DAYS before D)."""
    schema = schema_for("nba_predictions", MINUTES_TABLE)
    today = availability_rows.filter(pl.col("game_date") == day)
    if today.height == 0:
        return pl.DataFrame(schema=schema)
    lo = day - timedelta(days=MINUTES_TRAIN_DAYS)
    past = availability_rows.filter(pl.col("game_date").is_between(lo, day, closed="left"))
    played = history.filter(pl.col("game_date").is_between(lo, day, closed="left")).select(
        "game_id", "player_id", pl.col("minutes").cast(pl.Float64).alias("_actual")
    )
    # Canonical row order: the fit is a float sum over rows, the same to the bit whichever run's frame.
    train = (
        past.join(played, on=["game_id", "player_id"], how="left")
        .with_columns(pl.col("_actual").fill_null(0.0))
        .sort("game_date", "game_id", "team", "player_id")
    )
    x_today = _minutes_features(today).to_numpy().astype(np.float64)
    if train.height >= MIN_MINUTES_ROWS:
        x = _minutes_features(train).to_numpy().astype(np.float64)
        y = train["_actual"].to_numpy()
        mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
        z = (x - mu) / sd
        beta = np.linalg.solve(z.T @ z + MINUTES_RIDGE * np.eye(z.shape[1]), z.T @ (y - y.mean()))
        minutes = np.clip(y.mean() + ((x_today - mu) / sd) @ beta, 0.0, 48.0)
        how = "ridge"
    else:
        minutes = today["minutes_recent"].fill_null(0.0).to_numpy()
        how = "recent_minutes"
    out = today.with_columns(
        pl.Series("expected_minutes", np.round(minutes, 3)),
        pl.lit(train.height, pl.Int64).alias("train_rows"),
        pl.lit(how).alias("method"),
        pl.when(pl.col("minutes_recent") > 0)
        .then(pl.col("points_recent") / pl.col("minutes_recent"))
        .otherwise(None)
        .alias("points_per_minute_recent"),
    ).with_columns((pl.col("expected_minutes") * pl.col("points_per_minute_recent")).alias("expected_points"))
    return out.select(schema.names()).cast(dict(schema)).sort("game_id", "team", "player_id")


def player_minutes(availability_rows: pl.DataFrame, history: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    rows, hist = availability_rows.sort("game_date"), history.sort("game_date")

    def window(frame: pl.DataFrame, day: date) -> pl.DataFrame:  # [D − MINUTES_TRAIN_DAYS, D] by bisection
        lo = frame["game_date"].search_sorted(day - timedelta(days=MINUTES_TRAIN_DAYS), "left")
        hi = frame["game_date"].search_sorted(day, "right")
        return frame.slice(lo, hi - lo)

    parts = map_days(lambda d: minutes_day(d, window(rows, d), window(hist, d)), sorted(days))
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema_for("nba_predictions", MINUTES_TABLE))


def minutes_from_history(
    today: pl.DataFrame, schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame, days: list[date]
) -> pl.DataFrame:
    """player_minutes of ``days`` from their own availability rows (``today``) and the availability of
    the MINUTES_TRAIN_DAYS before each, recomputed from the schedule, props and box scores before it
    (every availability day is a pure function of its day, so these are the stored rows)."""
    if not days:
        return pl.DataFrame(schema=schema_for("nba_predictions", MINUTES_TABLE))
    first, last = min(days), max(days)
    past_days = sorted(
        d
        for d in set(schedule["game_date"].to_list())
        if first - timedelta(days=MINUTES_TRAIN_DAYS) <= d < last and d not in set(days)
    )
    past = player_availability(schedule, props, history, past_days)
    rows = pl.concat([past, today.filter(pl.col("game_date").is_in(days))])
    return player_minutes(rows, history, days)
