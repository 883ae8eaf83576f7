"""Typed models of every API body the pipeline parses (pydantic v2, strict types, extra fields ignored).

``validate(model, body, file=..., partition=...)`` turns a shape error into ``PayloadError`` naming
the landing file, the field path (e.g. ``data[3].pts``) and the game-date partition(s), so a renamed
or retyped field fails that partition loudly instead of storing junk.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class PayloadError(ValueError):
    """A landed body whose shape is not what the parser expects."""


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
        leaf = next((p for p in reversed(loc) if isinstance(p, str)), "<body>")
        parts.append(f"field '{leaf}' at {field_path(loc) or '<body>'}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


_UNION_TAGS = frozenset({"int", "float", "str", "none", "list[...]", "dict[...]"})


def validate[M: BaseModel](model: type[M], body: Any, *, file: str, partition: str) -> M:
    """``body``: decoded JSON, or the raw bytes (parsed and validated in one pass by pydantic-core)."""
    try:
        if isinstance(body, bytes | bytearray):
            return model.model_validate_json(body)
        return model.model_validate(body)
    except ValidationError as exc:
        raise PayloadError(
            f"{file} (game date {partition}): unexpected {model.__name__} shape: {describe(exc)}"
        ) from None


# ------------------------------------------------------------------------- NBA.com schedule


class ScheduleTeam(Model):
    teamId: int  # noqa: N815 - the API's field names
    teamTricode: str  # noqa: N815
    score: int | None


class ScheduleGame(Model):
    gameId: str  # noqa: N815
    gameDateEst: str  # noqa: N815
    gameDateTimeUTC: str | None  # noqa: N815
    gameStatus: int  # noqa: N815
    postponedStatus: str | None = "N"  # noqa: N815
    homeTeam: ScheduleTeam  # noqa: N815
    awayTeam: ScheduleTeam  # noqa: N815


class ScheduleGameDate(Model):
    games: list[ScheduleGame]


class LeagueSchedule(Model):
    seasonYear: str  # noqa: N815
    gameDates: list[ScheduleGameDate]  # noqa: N815


class ScheduleBody(Model):
    leagueSchedule: LeagueSchedule  # noqa: N815


# ------------------------------------------------------------------------- balldontlie v1


class BdlTeam(Model):
    id: int
    abbreviation: str
    conference: str | None = None
    division: str | None = None
    city: str | None = None
    name: str | None = None
    full_name: str | None = None


class BdlPlayerRef(Model):
    id: int
    first_name: str
    last_name: str


class BdlGameRef(Model):
    id: int
    date: str
    home_team_id: int
    visitor_team_id: int


class BdlStat(Model):
    id: int
    min: str | int | None
    pts: int | None
    reb: int | None
    oreb: int | None
    dreb: int | None
    ast: int | None
    stl: int | None
    blk: int | None
    turnover: int | None
    pf: int | None
    fgm: int | None
    fga: int | None
    fg3m: int | None
    fg3a: int | None
    ftm: int | None
    fta: int | None
    player: BdlPlayerRef
    team: BdlTeam
    game: BdlGameRef


class BdlMeta(Model):
    next_cursor: int | None = None
    per_page: int | None = None


class BdlStatsPage(Model):
    data: list[BdlStat]
    meta: BdlMeta


class BdlPlayer(Model):
    id: int
    first_name: str
    last_name: str
    position: str | None = None
    height: str | None = None
    weight: str | None = None
    jersey_number: str | None = None
    college: str | None = None
    country: str | None = None
    draft_year: int | None = None
    draft_round: int | None = None
    draft_number: int | None = None
    team: BdlTeam | None = None
    team_id: int | None = None


class BdlPlayersPage(Model):
    data: list[BdlPlayer]
    meta: BdlMeta


class BdlTeamsBody(Model):
    data: list[BdlTeam]


class BdlInjury(Model):
    player: BdlPlayer
    return_date: str | None
    description: str | None
    status: str


class BdlInjuriesPage(Model):
    data: list[BdlInjury]
    meta: BdlMeta


# ------------------------------------------------------------------------- The Odds API v4


class OddsOutcome(Model):
    name: str
    description: str
    point: float | int
    price: float | int | None = None


class OddsMarket(Model):
    key: str
    outcomes: list[OddsOutcome]


class OddsBookmaker(Model):
    key: str
    markets: list[OddsMarket]


class OddsEvent(Model):
    id: str
    commence_time: str
    home_team: str
    away_team: str


class OddsEventOdds(OddsEvent):
    bookmakers: list[OddsBookmaker]


class OddsHistoricalEventOdds(Model):
    timestamp: str
    data: OddsEventOdds | None
