"""``transforms.raw.props_by_day`` alone (no Dagster): the props table of some days from their
parsed event-odds snapshots, on real bodies of a replay archive cut from ``data/``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.real_data import raw_box_from_box_scores, schedule_from_box_scores
from nba_assets.replay import build_archive
from nba_assets.schemas import schema_for
from nba_assets.transforms.raw import parse_event_props, props_by_day

from .conftest import BOX_SCORES, LINES

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

DAY = date(2024, 11, 15)
SCHEMA = schema_for("nba_raw", "odds_api_player_points_props")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("props_archive")
    keep = pl.col("game_date").is_in([DAY.isoformat()])
    pl.read_parquet(BOX_SCORES).filter(keep).write_parquet(d / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(d / "lines.parquet")
    archive = build_archive([d / "box.parquet"], [d / "lines.parquet"], d / "replay")
    snapshot = datetime(2024, 11, 15, 22, 0, tzinfo=UTC)
    frames = [
        parse_event_props(json.loads(p.read_text()), snapshot, DAY, file=p.name)
        for p in sorted(Path(archive, "odds_api", "event_odds").rglob("*.json"))
    ]
    frames = [f for f in frames if f.height]
    box = pl.read_parquet(BOX_SCORES).with_columns(pl.col("game_date").str.to_date())
    box = box.filter(pl.col("game_date").is_between(DAY - timedelta(days=30), DAY))
    return frames, schedule_from_box_scores(box.filter(pl.col("game_date") == DAY)), raw_box_from_box_scores(box)


def test_a_days_props_resolve_against_the_rosters_before_it(inputs) -> None:
    frames, schedule, history = inputs
    assert len(frames) >= 2
    props = props_by_day({DAY: frames}, schedule, history)
    assert props.schema == SCHEMA and props.height == sum(f.height for f in frames)
    assert (props["game_date"] == DAY).all() and props["game_id"].null_count() == 0
    assert props["player_id"].is_not_null().mean() > 0.9
    # D's own box scores (and anything later) never decide who a quoted name is.
    before = props_by_day({DAY: frames}, schedule, history.filter(pl.col("game_date") < DAY))
    assert_frame_equal(props, before)


def test_a_snapshot_landed_twice_counts_once_and_a_day_without_lines_is_empty(inputs) -> None:
    frames, schedule, history = inputs
    once = props_by_day({DAY: frames}, schedule, history)
    twice = props_by_day({DAY: [*frames, frames[0]]}, schedule, history)
    assert_frame_equal(once.sort(pl.all()), twice.sort(pl.all()))
    empty = props_by_day({DAY: [frames[0].clear()], DAY + timedelta(days=1): []}, schedule, history)
    assert empty.height == 0 and empty.schema == SCHEMA
