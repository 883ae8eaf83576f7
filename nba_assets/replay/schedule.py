"""The league schedule a replay archive serves: every game, played or not, from a schedule file.

The live services know tonight's games before any box score exists. The replay archive does too:
``replay build`` takes its schedule from ``data/schedule.csv`` (or another file in the same
columns), not from the box scores it is given, so an archive built from box scores before D lists
D's games as not yet played.

``data/schedule.csv`` is derived from the real data files (``python -m nba_assets.replay schedule``):
one row per game of the nba.com game logs in ``data/player_box_scores.parquet`` (game_id, game_date,
season, home/away team), with the tip-off from ``data/player_points_lines_dfs.parquet`` (the latest
``commence_utc`` of the game's Odds API event) where the lines file has the game, else empty. No
tip-off time is invented: an empty ``tipoff_utc`` stays null in the archive (the pipeline's
automation counts an unknown tip-off as 19:00 ET, see ``automation.first_tipoffs``).

Columns: season (``2024-25``), game_id (string, leading zeros kept), game_date (``YYYY-MM-DD``, US
Eastern), home_team, away_team (nba.com tricodes), tipoff_utc (``YYYY-MM-DDTHH:MM:SSZ`` or empty).
The CSV is written sorted by (game_date, game_id) with fixed formatting, so deriving it again from
the same inputs gives the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from nba_assets.replay.teams import _GAME_ID_RE, _SEASON_RE, _check_pattern, _check_tricodes, load_teams

PathLike = str | os.PathLike[str]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCHEDULE = REPO_ROOT / "data" / "schedule.csv"
DEFAULT_BOX_SCORES = REPO_ROOT / "data" / "player_box_scores.parquet"
DEFAULT_LINES = REPO_ROOT / "data" / "player_points_lines_dfs.parquet"

SCHEDULE_COLUMNS = ("season", "game_id", "game_date", "home_team", "away_team", "tipoff_utc")
TIPOFF_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SCHEDULE_SCHEMA = {
    "season": pl.String,
    "game_id": pl.String,
    "game_date": pl.String,
    "home_team": pl.String,
    "away_team": pl.String,
    "tipoff_utc": pl.Datetime("us", "UTC"),
}


def game_tipoffs(lines: pl.DataFrame) -> pl.DataFrame:
    """game_id -> tip-off (UTC): the latest commence time of the game's events in validated lines."""
    events = lines.group_by("event_id").agg(pl.col("commence_utc").max(), pl.col("game_id").max())
    return events.group_by("game_id").agg(pl.col("commence_utc").max().alias("tipoff_utc"))


def schedule_from(box: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """One row per game of validated box scores (``build.load_box_scores``), tip-off from the lines."""
    games = box.group_by("game_id").agg(
        pl.col("season").first(),
        pl.col("game_date").first(),
        pl.col("home_team").first(),
        pl.col("away_team").first(),
    )
    games = games.join(game_tipoffs(lines), on="game_id", how="left")
    return games.select(SCHEDULE_COLUMNS).cast(SCHEDULE_SCHEMA).sort("game_date", "game_id")


def write_schedule(schedule: pl.DataFrame, out: PathLike) -> Path:
    """Write ``schedule`` as the committed CSV (sorted, fixed formats, LF line ends), atomically."""
    out = Path(out)
    frame = (
        schedule.select(SCHEDULE_COLUMNS)
        .sort("game_date", "game_id")
        .with_columns(pl.col("tipoff_utc").dt.strftime(TIPOFF_FORMAT))
    )
    tmp = out.with_name(f".{out.name}.tmp")
    frame.write_csv(tmp, line_terminator="\n", null_value="")
    os.replace(tmp, out)
    return out


def load_schedule(path: PathLike, teams: dict | None = None) -> pl.DataFrame:
    """Read and validate a schedule file (``.csv`` as written here, or ``.parquet`` with the same
    columns; ``tipoff_utc`` may be a Datetime there). Raises ``ValueError`` naming file and column."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: schedule file does not exist")
    try:
        if path.suffix == ".parquet":
            raw = pl.read_parquet(path)
        else:
            raw = pl.read_csv(path, infer_schema=False)  # every column as String
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise ValueError(f"{path}: cannot read the schedule ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in SCHEDULE_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing required column '{missing[0]}' (missing: {', '.join(missing)})")
    if raw.schema["game_date"] == pl.Date:
        raw = raw.with_columns(pl.col("game_date").dt.strftime("%Y-%m-%d"))
    for column in SCHEDULE_COLUMNS[:-1]:
        if raw.schema[column] != pl.String:
            raise ValueError(f"{path}: column '{column}' has dtype {raw.schema[column]}, expected String")
        n = raw[column].null_count()
        if n:
            raise ValueError(f"{path}: column '{column}' has {n} null value(s)")
    tip = raw["tipoff_utc"]
    if isinstance(tip.dtype, pl.Datetime):
        tip_expr = (
            pl.col("tipoff_utc").dt.replace_time_zone("UTC")
            if tip.dtype.time_zone is None
            else pl.col("tipoff_utc").dt.convert_time_zone("UTC")
        ).dt.cast_time_unit("us")
    elif tip.dtype == pl.String:
        parsed = tip.str.strptime(pl.Datetime("us"), TIPOFF_FORMAT, strict=False)
        bad = tip.is_not_null() & (tip != "") & parsed.is_null()
        if bad.any():
            raise ValueError(
                f"{path}: column 'tipoff_utc' has a value that is not {TIPOFF_FORMAT!r}: {tip.filter(bad)[0]!r}"
            )
        tip_expr = (
            pl.when(pl.col("tipoff_utc") == "")
            .then(None)
            .otherwise(pl.col("tipoff_utc"))
            .str.strptime(pl.Datetime("us"), TIPOFF_FORMAT)
            .dt.replace_time_zone("UTC")
        )
    else:
        raise ValueError(f"{path}: column 'tipoff_utc' has dtype {tip.dtype}, expected String or Datetime")
    dates = raw["game_date"].str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    if dates.null_count():
        bad_date = raw.filter(dates.is_null())["game_date"][0]
        raise ValueError(f"{path}: column 'game_date' has a value that is not a 'YYYY-MM-DD' date: {bad_date!r}")
    frame = raw.select(*SCHEDULE_COLUMNS[:-1], tip_expr.alias("tipoff_utc")).with_columns(
        dates.dt.strftime("%Y-%m-%d").alias("game_date")
    )
    teams = teams or load_teams()
    _check_tricodes(frame, path, ["home_team", "away_team"], teams)
    _check_pattern(frame, path, "season", _SEASON_RE, "a season like '2024-25'")
    _check_pattern(frame, path, "game_id", _GAME_ID_RE, "digits")
    dup = frame.filter(pl.col("game_id").is_duplicated())
    if dup.height:
        raise ValueError(f"{path}: game_id {dup['game_id'].sort()[0]} appears more than once")
    same_team = frame.filter(pl.col("home_team") == pl.col("away_team"))
    if same_team.height:
        raise ValueError(f"{path}: game_id {same_team['game_id'][0]} has the same home and away team")
    return frame.cast(SCHEDULE_SCHEMA).sort("game_date", "game_id")
