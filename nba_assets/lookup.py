"""Player name normalization shared by every source (``player_lookup``).

As the seed platform did: NFKC, strip accents, casefold, drop generational suffixes and every
character that is not a letter or digit ("Luka Dončić" -> "lukadoncic",
"Jaren Jackson Jr." -> "jarenjackson").
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

_SUFFIX = re.compile(r"[\s,]+(jr|sr|ii|iii|iv|v)\.?$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def player_lookup(name: str | None) -> str | None:
    if name is None:
        return None
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.casefold().strip()
    text = _SUFFIX.sub("", text)
    return _NOT_ALNUM.sub("", text) or None


def _lookup_series(names: pl.Series) -> pl.Series:
    mapping = {name: player_lookup(name) for name in names.drop_nulls().unique().to_list()}
    return names.replace_strict(mapping, default=None, return_dtype=pl.String)


def player_lookup_expr(column: str) -> pl.Expr:
    """The same normalization as a polars expression (computed once per distinct name)."""
    return pl.col(column).map_batches(_lookup_series, return_dtype=pl.String)
