"""Phase 3: who plays on D and in what situation, from what was known before D.

``upcoming_player_game_context``: one row per player expected on D. The set comes from D's
schedule, the rosters of the teams' games *before* D and D's pre-tip lines — never from D's box
scores:

- roster rule: a player who appeared for the team in one of its last ``ROSTER_GAMES`` games
  before D and whose latest game before D was for that team (not traded away since);
- plus any player with a pre-tip line for one of D's games whom the rule missed (his team is
  his latest team before D).

``upcoming_team_game_context``: one row per team playing on D: rest, back-to-back, streaks,
season record and recent ratings, from the team's games before D.

Lines: only snapshots taken before tip-off count (``snapshot_utc < commence_utc``). The current
line is the consensus of each book's latest pre-tip snapshot, the opening line the consensus of
each book's earliest one (``transforms/lines.py`` for the consensus).
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from nba_assets.schemas import schema_for
from nba_assets.transforms.asof import HISTORY_DAYS, asof_within, cumulative_before, strictly_before, window_mean
from nba_assets.transforms.lines import consensus_lines, pretip

# Tuned on 2022-23 and 2023-24 only (docs/features.md has the measurement).
ROSTER_GAMES = 3
MAX_REST_DAYS = 30
SCORER_POOL_GAMES = 20  # a usual scorer appeared for the team in one of its last 20 games before D
USUAL_SCORERS = 3  # the team's top 3 by points per game over their last 10 games
MISSED_WINDOW = 10  # injury signal: the team's last 10 games before D

_TARGET = ["game_date", "game_id", "team", "opponent", "is_home", "season"]


def scheduled_teams(schedule: pl.DataFrame) -> pl.DataFrame:
    """Two rows per scheduled game: each team with its opponent (postponed games left out)."""
    games = schedule.filter(~pl.col("postponed").fill_null(False))
    sides = [
        games.select(
            "game_date",
            "game_id",
            pl.col(team).alias("team"),
            pl.col(opp).alias("opponent"),
            pl.lit(home).alias("is_home"),
            "season",
        )
        for team, opp, home in (("home_team", "away_team", True), ("away_team", "home_team", False))
    ]
    return pl.concat(sides).sort("game_date", "game_id", "team")


def team_games(history: pl.DataFrame) -> pl.DataFrame:
    """(team, game_date, game_id, team_seq): each team's games in order (from player rows)."""
    return (
        history.select("team", "game_date", "game_id")
        .unique(["team", "game_id"])
        .sort("team", "game_date", "game_id")
        .with_columns(pl.int_range(pl.len()).over("team").cast(pl.Int64).alias("team_seq"))
    )


def _last_team_seq(targets: pl.DataFrame, tg: pl.DataFrame) -> pl.DataFrame:
    """The sequence number of each target team's last game strictly before D (null: none)."""
    return strictly_before(
        targets, tg.select("team", pl.col("game_date").alias("_last_date"), "team_seq"), by="team", on="_last_date"
    )


def _latest_team(history: pl.DataFrame) -> pl.DataFrame:
    """(player_id, _seen, _latest_team, names) per player game; see ``_recent``."""
    return history.select(
        "player_id",
        pl.col("game_date").alias("_seen"),
        pl.col("team").alias("_latest_team"),
        "player_lookup",
        "player_name",
    )


def _roster(last: pl.DataFrame, history: pl.DataFrame, tg: pl.DataFrame, games: int) -> pl.DataFrame:
    """Players who appeared for the team in one of its last ``games`` games before D and whose
    latest team before D is that team (``last``: targets with their ``team_seq``)."""
    # Only the games that can be among a target's last ``games`` (the same answer, less work).
    first_seq = last.group_by("team").agg((pl.col("team_seq").min() - games + 1).alias("_min_seq"))
    appearances = (
        history.select("player_id", "team", "game_id")
        .join(tg.select("team", "game_id", "team_seq"), on=["team", "game_id"])
        .join(first_seq, on="team")
        .filter(pl.col("team_seq") >= pl.col("_min_seq"))
        .with_columns(pl.int_ranges("team_seq", pl.col("team_seq") + games).alias("team_seq"))
        .explode("team_seq")
        .unique(["team", "team_seq", "player_id"])
    )
    roster = last.filter(pl.col("team_seq").is_not_null()).join(
        appearances.select("team", "team_seq", "player_id"), on=["team", "team_seq"]
    )
    return strictly_before(roster, _latest_team(history), by="player_id", on="_seen").filter(
        pl.col("_latest_team") == pl.col("team")
    )


def expected_players(schedule: pl.DataFrame, history: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """(target columns, player_id, player_lookup, player_name, roster_source) for every scheduled date."""
    targets = scheduled_teams(schedule)
    cols = [*_TARGET, "player_id", "player_lookup", "player_name", "roster_source"]
    empty = pl.DataFrame(
        schema={
            **targets.schema,
            "player_id": pl.Int64,
            "player_lookup": pl.String,
            "player_name": pl.String,
            "roster_source": pl.String,
        }
    ).select(cols)
    if targets.height == 0:
        return empty
    tg = team_games(history)
    last = _last_team_seq(targets, tg)
    roster = _roster(last, history, tg, ROSTER_GAMES).with_columns(pl.lit("roster").alias("roster_source"))
    roster = roster.select(cols)
    # Players with a pre-tip line on D whom the roster rule did not find: their team is their
    # latest team in the history window, else (a rookie, a player back after a year) the team the
    # book quoted him for.
    if lines.height:

        def quoted(col: str) -> pl.Expr:
            return pl.col(col) if col in lines.columns else pl.lit(None, pl.String)

        lined = strictly_before(
            lines.filter(pl.col("player_id").is_not_null())
            .select(
                "game_date",
                "game_id",
                "player_id",
                quoted("team").alias("_quoted_team"),
                quoted("player_lookup").alias("_quoted_lookup"),
                quoted("player_name_quoted").alias("_quoted_name"),
            )
            .unique(["game_date", "game_id", "player_id"], keep="first")
            .join(roster.select("game_date", "player_id"), on=["game_date", "player_id"], how="anti"),
            _latest_team(history).with_columns(pl.col("_seen").alias("_seen_date")),
            by="player_id",
            on="_seen",
        )
        recent = _recent("_seen_date").fill_null(False)
        lined = lined.with_columns(
            pl.when(recent).then(pl.col("_latest_team")).otherwise(pl.col("_quoted_team")).alias("_latest_team"),
            pl.when(recent).then(pl.col("player_lookup")).otherwise(pl.col("_quoted_lookup")).alias("player_lookup"),
            pl.when(recent).then(pl.col("player_name")).otherwise(pl.col("_quoted_name")).alias("player_name"),
        )
        lined = (
            lined.rename({"_latest_team": "team"})
            .join(targets, on=["game_date", "game_id", "team"], how="inner")
            .with_columns(pl.lit("line").alias("roster_source"))
            .select(cols)
        )
        roster = pl.concat([roster, lined])
    return roster.unique(["game_date", "player_id"], keep="first").sort("game_date", "game_id", "team", "player_id")


def _recent(col: str) -> pl.Expr:
    """A game dated within the history window of D (a wider frame must not change the answer)."""
    return pl.col(col) >= pl.col("game_date") - timedelta(days=HISTORY_DAYS)


def line_snapshots(props: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(current, opening) consensus lines per (game, player) from pre-tip snapshots only."""
    snap = pretip(props).filter(pl.col("game_id").is_not_null())
    keys = ["game_date", "game_id", "player_lookup", "bookmaker"]
    earliest = snap.filter(pl.col("snapshot_utc") == pl.col("snapshot_utc").min().over(keys))
    return consensus_lines(snap), consensus_lines(earliest)


def _player_games(history: pl.DataFrame) -> pl.DataFrame:
    """Per player game: minutes and whether it was the second night of a back-to-back."""
    return (
        history.select("player_id", "game_date", "minutes")
        .unique(["player_id", "game_date"])
        .sort("player_id", "game_date")
        .with_columns(
            ((pl.col("game_date") - pl.col("game_date").shift(1).over("player_id")).dt.total_days() == 1)
            .fill_null(False)
            .cast(pl.Int64)
            .alias("b2b")
        )
    )


def _missed_team_games(players: pl.DataFrame, history: pl.DataFrame, tg: pl.DataFrame) -> pl.DataFrame:
    """Of the team's last ``MISSED_WINDOW`` games before D that came after the player's first
    game for the team, how many he missed: (player_id, game_date, team_games_window, team_games_missed)."""
    last = _last_team_seq(players.select("game_date", "team", "player_id").unique(), tg)
    # A stint: consecutive games of a player for the same team; the window starts at the stint's
    # first game (a traded player is not counted absent from his new team's earlier games).
    stints = (
        history.select("player_id", "team", "game_id", "game_date")
        .unique(["player_id", "game_id"])
        .sort("player_id", "game_date", "game_id")
        .with_columns(
            (pl.col("team") != pl.col("team").shift(1).over("player_id"))
            .fill_null(True)
            .cum_sum()
            .over("player_id")
            .alias("_stint")
        )
    )
    apps = (
        stints.join(tg.select("team", "game_id", "team_seq"), on=["team", "game_id"])
        .sort("player_id", "team", "team_seq")
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("player_id", "team").alias("_cum"),
            pl.col("team_seq").min().over("player_id", "_stint").alias("_first_seq"),
            pl.concat_str(pl.col("player_id").cast(pl.String), pl.lit("|"), pl.col("team")).alias("_pt"),
        )
        .select("_pt", "team_seq", "game_date", "_cum", "_first_seq")
    )
    t = last.with_columns(
        pl.concat_str(pl.col("player_id").cast(pl.String), pl.lit("|"), pl.col("team")).alias("_pt"),
        (pl.col("team_seq") - MISSED_WINDOW).alias("_lo"),
    ).filter(pl.col("team_seq").is_not_null())

    def cum_at(frame: pl.DataFrame, seq: str, name: str, cols: list[str]) -> pl.DataFrame:
        return (
            frame.sort(seq)
            .join_asof(
                apps.select("_pt", pl.col("team_seq").alias("_s"), *cols).sort("_s"),
                left_on=seq,
                right_on="_s",
                by="_pt",
                strategy="backward",
                check_sortedness=False,
            )
            .rename({"_cum": name})
            .drop("_s")
        )

    t = cum_at(t, "team_seq", "_cum_hi", ["_cum", "_first_seq"])
    t = cum_at(t, "_lo", "_cum_lo", ["_cum"])
    # ... and his first game for the team inside D's history window (a wider frame changes nothing).
    t = (
        t.with_columns((pl.col("game_date") - timedelta(days=HISTORY_DAYS)).alias("_from"))
        .sort("_from")
        .join_asof(
            apps.select("_pt", pl.col("game_date").alias("_w"), pl.col("team_seq").alias("_first_in_window")).sort(
                "_w"
            ),
            left_on="_from",
            right_on="_w",
            by="_pt",
            strategy="forward",
            check_sortedness=False,
        )
    )
    window_start = pl.max_horizontal(pl.col("_lo") + 1, pl.col("_first_seq"), pl.col("_first_in_window"))
    return t.select(
        "player_id",
        "game_date",
        pl.when(pl.col("_first_seq").is_null() | pl.col("_first_in_window").is_null())
        .then(0)
        .otherwise((pl.col("team_seq") - window_start + 1).clip(lower_bound=0))
        .cast(pl.Int64)
        .alias("team_games_window"),
        (pl.col("_cum_hi").fill_null(0) - pl.col("_cum_lo").fill_null(0)).cast(pl.Int64).alias("_appeared"),
    ).with_columns((pl.col("team_games_window") - pl.col("_appeared")).clip(lower_bound=0).alias("team_games_missed"))


def usual_scorers(targets: pl.DataFrame, history: pl.DataFrame, tg: pl.DataFrame) -> pl.DataFrame:
    """(game_date, team, player_id): each scheduled team's top ``USUAL_SCORERS`` by points per game
    over their last 10 games before D, among players who appeared for it in one of its last
    ``SCORER_POOL_GAMES`` games before D and whose latest team it is."""
    last = _last_team_seq(targets.select("game_date", "team").unique(), tg)
    pool = _roster(last, history, tg, SCORER_POOL_GAMES).select("game_date", "team", "player_id")

    def pts_l10(h: pl.DataFrame, p: str) -> pl.DataFrame:
        return h.sort(p, "game_date", "game_id").select(
            p,
            pl.col("game_date").alias("_g"),
            pl.coalesce(pl.col("game_date").shift(9), pl.col("game_date").min()).over(p).alias("_span"),
            window_mean(pl.col("pts"), 10, p).alias("_l10"),
        )

    ranked = (
        asof_within(pool, history, pts_l10)
        .sort(["game_date", "team", "_l10", "player_id"], descending=[False, False, True, False], nulls_last=True)
        .with_columns(pl.int_range(1, pl.len() + 1).over("game_date", "team").alias("_rank"))
    )
    return ranked.filter(pl.col("_rank") <= USUAL_SCORERS).select("game_date", "team", "player_id")


def upcoming_player_game_context(schedule: pl.DataFrame, props: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """One row per player expected on D (``history``: player game summaries before D, any window)."""
    schema = schema_for("nba_analytics", "upcoming_player_game_context")
    current, opening = line_snapshots(props)
    # The team and name the books quoted, for lined players without a recent game.
    quoted = (
        pretip(props)
        .filter(pl.col("player_id").is_not_null() & pl.col("game_id").is_not_null())
        .sort("snapshot_utc", "bookmaker")
        .group_by("game_id", "player_id")
        .agg(pl.col("team").drop_nulls().first(), pl.col("player_name_quoted").drop_nulls().first())
    )
    players = expected_players(schedule, history, current.join(quoted, on=["game_id", "player_id"], how="left"))
    if players.height == 0:
        return pl.DataFrame(schema=schema)
    tg = team_games(history)
    games = _player_games(history)
    # Rest: the player's last game strictly before D.
    out = _with_last_game(players, games)
    for days in (7, 14):
        out = cumulative_before(out, games, by="player_id", values=["minutes", "b2b"], days=days, suffix=f"{days}")
        out = out.rename(
            {
                f"n_{days}": f"games_last_{days}_days",
                f"minutes_{days}": f"minutes_last_{days}_days",
                f"b2b_{days}": f"back_to_backs_last_{days}_days",
            }
        )
    out = out.join(_missed_team_games(players, history, tg), on=["player_id", "game_date"], how="left")
    # The team's usual scorers: out (not expected on D) and without a pre-tip line.
    scorers = usual_scorers(players, history, tg)
    expected = players.select("game_date", "player_id", pl.lit(True).alias("_expected"))
    lined = current.filter(pl.col("player_id").is_not_null()).select(
        "game_date", "player_id", pl.lit(True).alias("_lined")
    )
    scorers = (
        scorers.join(expected, on=["game_date", "player_id"], how="left")
        .join(lined.unique(), on=["game_date", "player_id"], how="left")
        .rename({"player_id": "_scorer"})
    )
    pairs = players.select("game_date", "game_id", "team", "player_id").join(scorers, on=["game_date", "team"])
    pairs = pairs.filter(pl.col("_scorer") != pl.col("player_id"))
    counts = pairs.group_by("game_date", "player_id").agg(
        pl.col("_expected").is_null().sum().cast(pl.Int64).alias("star_teammates_out"),
        pl.col("_lined").is_null().sum().cast(pl.Int64).alias("_scorers_without_line"),
    )
    game_has_lines = current.select("game_id", pl.lit(True).alias("_game_lined")).unique()
    line_cols = ["game_id", "player_id"]
    out = (
        out.join(counts, on=["game_date", "player_id"], how="left")
        .join(game_has_lines, on="game_id", how="left")
        .join(
            current.filter(pl.col("player_id").is_not_null())
            .unique(line_cols)
            .select(*line_cols, "points_line", "line_source", "n_books"),
            on=line_cols,
            how="left",
        )
        .join(
            opening.filter(pl.col("player_id").is_not_null())
            .unique(line_cols)
            .select(*line_cols, pl.col("points_line").alias("opening_line")),
            on=line_cols,
            how="left",
        )
        .with_columns(
            pl.col("star_teammates_out").fill_null(0),
            pl.when(pl.col("_game_lined"))
            .then(pl.col("_scorers_without_line").fill_null(0))
            .alias("teammates_without_line"),
            (pl.col("points_line") - pl.col("opening_line")).alias("line_movement"),
            pl.col("points_line").is_not_null().alias("has_line"),
            pl.col("n_books").fill_null(0),
        )
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team", "player_id")


def _with_last_game(players: pl.DataFrame, games: pl.DataFrame) -> pl.DataFrame:
    last = games.select("player_id", pl.col("game_date").alias("_g"), pl.col("game_date").alias("last_game_date"))
    out = strictly_before(players, last, by="player_id", on="_g").with_columns(
        pl.when(_recent("last_game_date")).then(pl.col("last_game_date")).alias("last_game_date")
    )
    rest = ((pl.col("game_date") - pl.col("last_game_date")).dt.total_days() - 1).clip(upper_bound=MAX_REST_DAYS)
    return out.with_columns(rest.cast(pl.Int64).alias("days_rest")).with_columns(
        (pl.col("days_rest") == 0).alias("is_back_to_back")
    )


def _team_game_stats(offense: pl.DataFrame, by: str = "team") -> pl.DataFrame:
    """Per team game: statistics *through* that game (streak, season record, L10 ratings), with
    ``_span`` the date of the earliest game they depend on (the 10th game back, the streak's start)."""
    t = offense.sort(by, "game_date", "game_id")
    run = (pl.col("won") != pl.col("won").shift(1).over(by)).fill_null(True).cum_sum().over(by)
    season = [by, "season"]
    tenth_back = pl.coalesce(pl.col("game_date").shift(9), pl.col("game_date").min()).over(by)
    return (
        t.with_columns(run.alias("_run"))
        .with_columns(
            pl.int_range(1, pl.len() + 1).over(by, "_run").alias("_len"),
            pl.min_horizontal(tenth_back, pl.col("game_date").min().over(by, "_run")).alias("_span"),
        )
        .select(
            by,
            pl.col("game_date").alias("_g"),
            "_span",
            pl.col("game_date").alias("last_game_date"),
            pl.col("season").alias("_last_season"),
            pl.when(pl.col("won")).then(pl.col("_len")).otherwise(-pl.col("_len")).cast(pl.Int64).alias("streak"),
            pl.col("won").cast(pl.Int64).cum_sum().over(season).alias("_wins"),
            pl.int_range(1, pl.len() + 1).over(season).cast(pl.Int64).alias("_games"),
            *[window_mean(pl.col(c), 10, by).alias(f"{c}_l10") for c in ("pace", "off_rating", "def_rating")],
            window_mean(pl.col("pts"), 10, by).alias("pts_avg_l10"),
        )
    )


def upcoming_team_game_context(schedule: pl.DataFrame, offense: pl.DataFrame) -> pl.DataFrame:
    """One row per team playing on D (``offense``: team_offense_game_summary before D, any window)."""
    schema = schema_for("nba_analytics", "upcoming_team_game_context")
    targets = scheduled_teams(schedule)
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    # Statistics from the team's games in [D - 365, D - 1] only, whatever frame the run hands in.
    out = asof_within(targets, offense, _team_game_stats, by="team")
    same_season = pl.col("_last_season") == pl.col("season")
    games = offense.select("team", "game_date").unique()
    out = cumulative_before(out, games, by="team", values=[], days=7, suffix="7").rename({"n_7": "games_last_7_days"})
    out = out.with_columns(
        ((pl.col("game_date") - pl.col("last_game_date")).dt.total_days() - 1)
        .clip(upper_bound=MAX_REST_DAYS)
        .cast(pl.Int64)
        .alias("days_rest"),
        pl.when(same_season).then(pl.col("streak")).otherwise(0).alias("streak"),
        pl.when(same_season).then(pl.col("_games")).otherwise(0).alias("games_played_season"),
        pl.when(same_season).then(pl.col("_wins")).otherwise(0).alias("wins_season"),
    ).with_columns(
        (pl.col("days_rest") == 0).alias("is_back_to_back"),
        (pl.col("games_played_season") - pl.col("wins_season")).alias("losses_season"),
        pl.when(pl.col("games_played_season") > 0)
        .then(pl.col("wins_season") / pl.col("games_played_season"))
        .alias("win_pct_season"),
        pl.col("streak").clip(lower_bound=0).alias("win_streak"),
        (-pl.col("streak")).clip(lower_bound=0).alias("loss_streak"),
    )
    opp = out.select(
        "game_id",
        pl.col("team").alias("opponent"),
        pl.col("days_rest").alias("opp_days_rest"),
        pl.col("is_back_to_back").alias("opp_is_back_to_back"),
        pl.col("pace_l10").alias("opp_pace_l10"),
    )
    out = out.join(opp, on=["game_id", "opponent"], how="left").with_columns(
        (pl.col("days_rest") - pl.col("opp_days_rest")).alias("rest_advantage")
    )
    return out.select(schema.names()).cast(dict(schema)).sort("game_date", "game_id", "team")
