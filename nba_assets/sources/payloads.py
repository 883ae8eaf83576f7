"""Typed models of every API body the pipeline parses (pydantic v2, strict types, extra fields ignored).

``validate(model, body, file=..., partition=...)`` turns a shape error into ``PayloadError`` naming
the landing file, the field path (e.g. ``data[3].pts``) and the game-date partition(s), so a renamed
or retyped field fails that partition loudly instead of storing junk.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PayloadError(ValueError):
    """A landed body whose shape is not what the parser expects.

    ``file``, ``field`` (the field path, e.g. ``data[3].pts``) and ``game_date`` (the partition or
    window the body serves) are kept as attributes too, so a caller can hold back that day and
    record the rejection; the message always names all three.
    """

    def __init__(self, message: str, *, file: str = "", field: str = "", game_date: str = "") -> None:
        super().__init__(message)
        self.file = file
        self.field = field
        self.game_date = game_date


class Model(BaseModel):
    # No NaN/Infinity (Python's json accepts them; no API sends them): they would poison every aggregate.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, allow_inf_nan=False)


# Every integer the lake stores is an Int64; a counting stat is never negative.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, Field(ge=0, le=2**31)]
# A points line, and an American (or a DFS book's decimal) price.
Line = Annotated[float, Field(ge=0, le=1000)] | Annotated[int, Field(ge=0, le=1000)]
Price = Annotated[float, Field(ge=-(10**6), le=10**6)] | Annotated[int, Field(ge=-(10**6), le=10**6)]


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def first_field(exc: ValidationError) -> str:
    """The field path of the first error (``<body>`` for the body itself)."""
    errors = exc.errors()
    if not errors:
        return "<body>"
    loc = tuple(p for p in errors[0]["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
    return field_path(loc) or "<body>"


def describe(exc: ValidationError, limit: int = 3, prefix: str = "") -> str:
    """The first ``limit`` errors as ``field 'leaf' at path: message``; ``prefix`` is the path of
    the validated object inside its body (e.g. ``leagueSchedule.gameDates[3].games[1]``)."""
    parts = []
    for error in exc.errors()[:limit]:
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
        leaf = next((p for p in reversed(loc) if isinstance(p, str)), "<body>")
        path = field_path(loc)
        where = f"{prefix}.{path}" if prefix and path else (path or prefix or "<body>")
        parts.append(f"field '{leaf}' at {where}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


_UNION_TAGS = frozenset(
    {"int", "float", "str", "none", "list[...]", "dict[...]", "constrained-int", "constrained-float"}
)


def validate[M: BaseModel](model: type[M], body: Any, *, file: str, partition: str) -> M:
    """``body``: decoded JSON, or the raw bytes (parsed and validated in one pass by pydantic-core)."""
    try:
        if isinstance(body, bytes | bytearray):
            return model.model_validate_json(body)
        return model.model_validate(body)
    except ValidationError as exc:
        raise PayloadError(
            f"{file} (game date {partition}): unexpected {model.__name__} shape: {describe(exc)}",
            file=file,
            field=first_field(exc),
            game_date=partition,
        ) from None


# ------------------------------------------------------------------------- NBA.com schedule


class ScheduleTeam(Model):
    teamId: Int64  # noqa: N815 - the API's field names
    teamTricode: str  # noqa: N815
    score: Count | None


class ScheduleGame(Model):
    gameId: str  # noqa: N815
    gameDateEst: str  # noqa: N815
    gameDateTimeUTC: str | None  # noqa: N815
    gameStatus: Int64  # noqa: N815
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


class ScheduleEnvelopeDate(Model):
    gameDate: Any = None  # noqa: N815 - "MM/DD/YYYY 00:00:00": the day of a game whose own date is unreadable
    games: list[Any]


class ScheduleEnvelopeLeague(Model):
    seasonYear: str  # noqa: N815
    gameDates: list[ScheduleEnvelopeDate]  # noqa: N815


class ScheduleEnvelope(Model):
    """A schedule body down to its games, each left unvalidated: ``ScheduleGame`` validates each
    one, so a bad game rejects its own game date only."""

    leagueSchedule: ScheduleEnvelopeLeague  # noqa: N815


# ------------------------------------------------------------------------- balldontlie v1


class BdlTeam(Model):
    id: Int64
    abbreviation: str
    conference: str | None = None
    division: str | None = None
    city: str | None = None
    name: str | None = None
    full_name: str | None = None


class BdlPlayerRef(Model):
    id: Int64
    first_name: str
    last_name: str


class BdlGameRef(Model):
    id: Int64
    date: str
    home_team_id: Int64
    visitor_team_id: Int64


class BdlStat(Model):
    id: Int64
    min: str | Count | None
    pts: Count | None
    reb: Count | None
    oreb: Count | None
    dreb: Count | None
    ast: Count | None
    stl: Count | None
    blk: Count | None
    turnover: Count | None
    pf: Count | None
    fgm: Count | None
    fga: Count | None
    fg3m: Count | None
    fg3a: Count | None
    ftm: Count | None
    fta: Count | None
    player: BdlPlayerRef
    team: BdlTeam
    game: BdlGameRef


class BdlMeta(Model):
    next_cursor: Int64 | None = None
    per_page: Int64 | None = None


class BdlStatsPage(Model):
    data: list[BdlStat]
    meta: BdlMeta


# ------------------------------------------------------------------------- The Odds API v4


class OddsOutcome(Model):
    name: str
    description: str
    point: Line
    price: Price | None = None


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
