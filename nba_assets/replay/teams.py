"""Reference facts the replay archive is built on (teams) and checks its input files share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


@dataclass(frozen=True)
class _Team:
    tricode: str
    nba_id: int
    nickname: str
    full_name: str  # nba.com full name ("Los Angeles Clippers"), used by The Odds API
    slug: str
    bdl: dict[str, Any]  # balldontlie team object


_SLUG_OVERRIDES = {"76ers": "sixers", "Trail Blazers": "blazers"}


def load_teams() -> dict[str, _Team]:
    """Tricode -> team facts from reference/teams.csv (nba.com) and reference/bdl_teams.csv."""
    nba = pl.read_csv(REFERENCE_DIR / "teams.csv", columns=["team_id", "abbreviation", "nickname", "full_name"])
    bdl = pl.read_csv(REFERENCE_DIR / "bdl_teams.csv")
    bdl_by_abbr = {row["abbreviation"]: row for row in bdl.iter_rows(named=True)}
    teams: dict[str, _Team] = {}
    for row in nba.iter_rows(named=True):
        abbr = row["abbreviation"]
        b = bdl_by_abbr[abbr]
        teams[abbr] = _Team(
            tricode=abbr,
            nba_id=int(row["team_id"]),
            nickname=row["nickname"],
            full_name=row["full_name"],
            slug=_SLUG_OVERRIDES.get(row["nickname"], row["nickname"].lower().replace(" ", "")),
            bdl={
                "id": int(b["bdl_team_id"]),
                "conference": b["conference"],
                "division": b["division"],
                "city": b["city"],
                "name": b["name"],
                "full_name": b["full_name"],
                "abbreviation": abbr,
            },
        )
    return teams


def _check_tricodes(df: pl.DataFrame, path: Path, columns: Sequence[str], teams: dict[str, _Team]) -> None:
    for column in columns:
        unknown = sorted(set(df[column].drop_nulls().unique().to_list()) - set(teams))
        if unknown:
            raise ValueError(f"{path}: column '{column}' has unknown team tricode(s): {', '.join(unknown[:5])}")


_SEASON_RE = r"^\d{4}-\d{2}$"
_GAME_ID_RE = r"^\d{1,12}$"


def _check_pattern(df: pl.DataFrame, path: Path, column: str, pattern: str, expected: str) -> None:
    bad = df.filter(~pl.col(column).str.contains(pattern))
    if bad.height:
        raise ValueError(f"{path}: column '{column}' has a value that is not {expected}: {bad[column][0]!r}")
