"""The two live feeds: typed payload models and their clients.

- stats.nba.com ``scoreboardv2`` (``GET /stats/scoreboardv2?GameDate=YYYY-MM-DD&LeagueID=00&DayOffset=0``):
  ``resultSets`` of ``headers`` + ``rowSet``; ``GameHeader`` gives each game's status (1 scheduled,
  2 in progress, 3 final), period and clock, ``LineScore`` each team's points.
- balldontlie ``/v1/box_scores?date=YYYY-MM-DD``: one object per game with its status, period,
  time and score, and ``home_team.players[]`` / ``visitor_team.players[]`` with each player's line.

The models follow ``sources/payloads.py`` (strict types, extra fields ignored); ``validate_live``
turns any shape error into a ``PayloadError`` naming the landing file, the field path (for a row of
a result set: ``resultSets[0].rowSet[3].GAME_STATUS_ID``) and the game date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from nba_assets.sources.http import Fetched, HttpSource
from nba_assets.sources.payloads import (
    BdlPlayerRef,
    Count,
    Int64,
    Model,
    PayloadError,
    describe,
    first_field,
    validate,
)

SCOREBOARD_FEED = "nbac_scoreboard_v2"
BOX_SCORES_FEED = "bdl_box_scores"

# ------------------------------------------------------------------------- stats.nba.com scoreboardv2


class ResultSet(Model):
    name: str
    headers: list[str]
    rowSet: list[list[Any]]  # noqa: N815 - the API's field names


class ScoreboardBody(Model):
    resultSets: list[ResultSet]  # noqa: N815


class ScoreboardGame(Model):
    """One row of ``GameHeader``."""

    GAME_ID: str
    GAME_STATUS_ID: Int64
    GAME_STATUS_TEXT: str | None
    HOME_TEAM_ID: Int64
    VISITOR_TEAM_ID: Int64
    LIVE_PERIOD: Int64 | None
    LIVE_PC_TIME: str | None


class ScoreboardLine(Model):
    """One row of ``LineScore`` (a team in a game); ``PTS`` is null before the game has points."""

    GAME_ID: str
    TEAM_ID: Int64
    TEAM_ABBREVIATION: str
    PTS: Count | None


SCOREBOARD_SETS = {"GameHeader": ScoreboardGame, "LineScore": ScoreboardLine}


def scoreboard_rows(body: Any, *, file: str, partition: str) -> dict[str, list[Model]]:
    """The ``GameHeader`` and ``LineScore`` rows of a scoreboard body, typed. A missing result set,
    a header the model needs or a value of the wrong type raises ``PayloadError``."""
    envelope = validate(ScoreboardBody, body, file=file, partition=partition)
    sets = {rs.name: (i, rs) for i, rs in enumerate(envelope.resultSets)}
    out: dict[str, list[Model]] = {}
    for name, model in SCOREBOARD_SETS.items():
        if name not in sets:
            raise PayloadError(
                f"{file} (game date {partition}): scoreboardv2 has no result set {name!r}",
                file=file,
                field=f"resultSets[name={name}]",
                game_date=partition,
            )
        index, result_set = sets[name]
        missing = [h for h in model.model_fields if h not in result_set.headers]
        if missing:
            raise PayloadError(
                f"{file} (game date {partition}): field '{missing[0]}' at resultSets[{index}].headers: "
                f"missing from {name}",
                file=file,
                field=f"resultSets[{index}].headers.{missing[0]}",
                game_date=partition,
            )
        rows = []
        for r, values in enumerate(result_set.rowSet):
            prefix = f"resultSets[{index}].rowSet[{r}]"
            if len(values) != len(result_set.headers):
                raise PayloadError(
                    f"{file} (game date {partition}): {prefix} has {len(values)} values for "
                    f"{len(result_set.headers)} headers",
                    file=file,
                    field=prefix,
                    game_date=partition,
                )
            try:
                rows.append(model.model_validate(dict(zip(result_set.headers, values, strict=True))))
            except ValidationError as exc:
                raise PayloadError(
                    f"{file} (game date {partition}): unexpected {name} row: {describe(exc, prefix=prefix)}",
                    file=file,
                    field=f"{prefix}.{first_field(exc)}",
                    game_date=partition,
                ) from None
        out[name] = rows
    return out


# ------------------------------------------------------------------------- balldontlie /v1/box_scores


class BoxScorePlayer(Model):
    min: str | Count | None = None
    pts: Count | None
    player: BdlPlayerRef


class BoxScoreTeam(Model):
    id: Int64
    abbreviation: str
    players: list[BoxScorePlayer]


class BoxScoreGame(Model):
    date: str
    status: str
    period: Int64 | None
    time: str | None
    home_team_score: Count | None
    visitor_team_score: Count | None
    home_team: BoxScoreTeam
    visitor_team: BoxScoreTeam


class BoxScoresBody(Model):
    data: list[BoxScoreGame]


# ------------------------------------------------------------------------- clients


class ScoreboardClient:
    """stats.nba.com ``scoreboardv2`` for one game date (the source carries the stats headers)."""

    PATH = "/stats/scoreboardv2"

    def __init__(self, stats: HttpSource):
        self.stats = stats

    def scoreboard(self, game_date: date) -> Fetched:
        params = {"GameDate": game_date.isoformat(), "LeagueID": "00", "DayOffset": "0"}
        return self.stats.get_json(self.PATH, params, game_date)


class BoxScoresClient:
    """balldontlie ``/v1/box_scores?date=`` (``Authorization: <key>``): every game of one date in
    one body (the endpoint is not paginated)."""

    PATH = "/v1/box_scores"

    def __init__(self, source: HttpSource):
        self.source = source

    def box_scores(self, game_date: date) -> Fetched:
        return self.source.get_json(self.PATH, {"date": game_date.isoformat()}, game_date)


class LiveClients:
    """Both live feeds, as ``NbaApis.live()`` hands them out."""

    def __init__(self, scoreboard: ScoreboardClient, box_scores: BoxScoresClient):
        self.scoreboard = scoreboard
        self.box_scores = box_scores
