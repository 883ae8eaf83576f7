"""Checks that mean something: the feature store's plausible ranges hold on four seasons of real data.

A range check that real data breaks is noise (18 of 42 used to fail after ``make demo``). The
store is computed over every game date of data/ (2021-10-19..2024-12-15) and each feature's
plausible range must contain every value; impossible values must not occur at all.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from nba_assets.transforms.features import RANGES, compute_phase34

from .conftest import BOX_SCORES, LINES, raw_box_from_box_scores, schedule_from_box_scores
from .test_predictions import props_from_lines

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)


def test_four_seasons_of_real_features_break_no_range(box_scores, points_lines) -> None:
    tables = compute_phase34(
        raw_box_from_box_scores(box_scores),
        schedule_from_box_scores(box_scores),
        props_from_lines(points_lines),
        days=[date(2021, 10, 19), date(2024, 12, 15)],
    )
    store = tables["ml_feature_store"]
    assert store.height > 100_000 and store["game_date"].n_unique() > 500
    outside, impossible = {}, {}
    for name, ((lo, hi), (hard_lo, hard_hi)) in RANGES.items():
        values = store[name].cast(pl.Float64).drop_nulls()
        assert values.len() > 0, name
        outside[name] = int(((values < lo) | (values > hi)).sum())
        impossible[name] = int(((values < hard_lo) | (values > hard_hi)).sum())
    assert not {k: v for k, v in outside.items() if v}, outside
    assert not {k: v for k, v in impossible.items() if v}, impossible
