"""Ingestion on real Dagster runs: landing assets call the replay server, raw tables parse landing only.

The archive is cut from the real data files (two days of 2024-25 with PrizePicks/Underdog lines and
one day before them), so every body the clients land is a real recorded shape.
"""

from __future__ import annotations

import gzip
import json
import socket
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.assets import ingest, raw
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import build_archive
from nba_assets.resources import NbaApis, RawCheckThresholds
from nba_assets.schemas import schema_for
from nba_assets.sources.landing import write_fetch

from .conftest import BOX_SCORES, LINES, lake_resources, local_lake

pytestmark = pytest.mark.skipif(
    not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"
)

DAYS = (date(2024, 11, 14), date(2024, 11, 15))
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
RAW_KEYS = [
    ("nba_raw", "nbac_schedule"),
    ("nba_raw", "bdl_player_boxscores"),
    ("nba_raw", "odds_api_player_points_props"),
]
INGEST_KEYS = [
    ("landing", "nba_schedule_payloads"),
    ("landing", "bdl_stats_payloads"),
    ("landing", "odds_player_points_payloads"),
]
FAKE_BDL_KEY = "bdl-SECRET-7f3a9c1e5b"
REFETCH = {"ops": {"landing__odds_player_points_payloads": {"config": {"refetch_history": True}}}}
FAKE_ODDS_KEY = "odds-SECRET-2d8e4b6a0c"


def _between(first: date, last: date) -> pl.Expr:
    return pl.col("game_date").is_between(pl.lit(first.isoformat()), pl.lit(last.isoformat()))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ingest_archive")
    box, lines = d / "box.parquet", d / "lines.parquet"
    pl.read_parquet(BOX_SCORES).filter(_between(*DAYS)).write_parquet(box)
    pl.read_parquet(LINES).filter(_between(*DAYS)).write_parquet(lines)
    return build_archive([box], [lines], d / "replay")


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run(
    lake: Path,
    apis: NbaApis,
    keys: list[tuple[str, str]],
    first: date,
    last: date,
    monkeypatch: pytest.MonkeyPatch,
    raise_on_error: bool = True,
    run_config: dict | None = None,
    raw_checks: RawCheckThresholds | None = None,
) -> dg.ExecuteInProcessResult:
    """Materializes ``keys`` (the rest of ingest + raw loads from the lake) over first..last, one run."""
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*dg.load_assets_from_modules([ingest, raw])],
            selection=[dg.AssetKey(list(k)) for k in keys],
            resources={**lake_resources(lake), "apis": apis, **({"raw_checks": raw_checks} if raw_checks else {})},
            instance=instance,
            tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
            raise_on_error=raise_on_error,
            run_config=run_config,
        )


def replay_apis(archive: Path, lake: Path, **kwargs) -> NbaApis:
    return NbaApis(
        replay_dir=str(archive),
        lake=local_lake(lake),
        balldontlie_api_key=FAKE_BDL_KEY,
        odds_api_key=FAKE_ODDS_KEY,
        backoff_base=0.01,
        **kwargs,
    )


def offline_apis(lake: Path) -> NbaApis:
    """Every API pointed at a closed port: any request would fail."""
    url = closed_port_url()
    return NbaApis(
        lake=local_lake(lake),
        balldontlie_api_key=FAKE_BDL_KEY,
        odds_api_key=FAKE_ODDS_KEY,
        balldontlie_base_url=url,
        nba_cdn_base_url=url,
        nba_stats_base_url=url,
        odds_api_base_url=url,
        max_attempts=1,
    )


def read(lake: Path, key: tuple[str, str], days: list[date]) -> pl.DataFrame:
    return LocalParquetStore(lake).read_window(TableRef(*key), days, schema_for(*key))


def landing_files(lake: Path) -> set[Path]:
    return {p for p in (lake / "landing").rglob("*") if p.is_file()}


def errors(result: dg.ExecuteInProcessResult) -> str:
    """Every step failure's message and its causes, as one string."""
    texts = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            texts.append(error.message)
            error = error.cause or error.context
    return "\n".join(texts)


@pytest.fixture(scope="module")
def ingested(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake filled by one run of the ingest and raw assets over DAYS against the replay server."""
    lake = tmp_path_factory.mktemp("ingest_lake")
    with pytest.MonkeyPatch.context() as mp:
        result = run(lake, replay_apis(archive, lake), INGEST_KEYS + RAW_KEYS, *DAYS, mp)
    assert result.success
    return lake


def test_landing_holds_every_body_with_redacted_metadata(ingested: Path) -> None:
    landing = ingested / "landing"
    bodies = sorted(landing.rglob("*.json.gz"))
    sources = {p.relative_to(landing).parts[0] for p in bodies}
    assert sources == {"nba_cdn", "balldontlie", "odds_api"}
    for body in bodies:
        meta = json.loads(body.with_name(body.name.replace(".json.gz", ".meta.json")).read_text())
        assert meta["status"] == 200
        json.loads(gzip.decompress(body.read_bytes()))  # stored untouched: still the JSON served
        assert FAKE_ODDS_KEY not in meta["url"] and FAKE_BDL_KEY not in json.dumps(meta)
    odds_meta = [json.loads(p.read_text()) for p in (landing / "odds_api").rglob("*.meta.json")]
    assert all("apiKey=REDACTED" in m["url"] for m in odds_meta)
    assert all("x-requests-remaining" in m["headers"] for m in odds_meta)
    # One fetch record per day and feed; each names only landed files.
    for feed in ("nba_schedule", "bdl_stats", "odds_player_points"):
        for day in dates_between(*DAYS):
            (record_path,) = (landing / "_fetches" / feed / day.isoformat()).glob("*.json")
            record = json.loads(record_path.read_text())
            assert record["files"] and all((landing / f["path"]).is_file() for f in record["files"])


def test_raw_tables_rebuild_from_landing_without_any_request(
    ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    days = dates_between(*DAYS)
    before = {key: read(ingested, key, days) for key in RAW_KEYS}
    assert all(frame.height > 0 for frame in before.values())
    files_before = landing_files(ingested)

    # The replay server is gone and every base URL is a closed port: raw tables parse landing only.
    result = run(ingested, offline_apis(ingested), RAW_KEYS, *DAYS, monkeypatch)
    assert result.success
    for key in RAW_KEYS:
        assert_frame_equal(read(ingested, key, days), before[key])
    assert landing_files(ingested) == files_before


def test_props_accumulate_every_landed_snapshot(ingested: Path, archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Landing the same historical snapshots again changes no row; a later (live) snapshot of the same
    events adds rows with its own timestamp and keeps the earlier ones."""
    days = dates_between(*DAYS)
    key = ("nba_raw", "odds_api_player_points_props")
    before = read(ingested, key, days)
    assert (before["minutes_before_tipoff"] > 0).all()  # historical snapshots taken before tip-off
    # Past days already landed are skipped: no request, no quota.
    result = run(ingested, replay_apis(archive, ingested), [INGEST_KEYS[2], key], *DAYS, monkeypatch)
    assert result.success
    fetches = ingested / "landing" / "_fetches" / "odds_player_points" / DAYS[0].isoformat()
    assert len(list(fetches.glob("*.json"))) == 1
    (skipped,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(list(INGEST_KEYS[2])) and e.materialization.partition == DAYS[0].isoformat()
    ]
    assert skipped.metadata["requests"].value == 0 and skipped.metadata["past_days_already_landed"].value == 2
    # Asked to, it lands the same historical snapshots again: the table keeps one copy of each.
    result = run(
        ingested, replay_apis(archive, ingested), [INGEST_KEYS[2], key], *DAYS, monkeypatch, run_config=REFETCH
    )
    assert result.success
    assert len(list(fetches.glob("*.json"))) == 2
    assert_frame_equal(read(ingested, key, days), before)
    mats = [e.materialization for e in result.get_asset_materialization_events()]
    landed = [m for m in mats if m.asset_key == dg.AssetKey(list(INGEST_KEYS[2]))]
    assert landed and int(landed[0].metadata["x-requests-used"].value) > 0
    assert landed[0].metadata["event_snapshots"].value > 0

    # A live snapshot of one event, fetched now through the client and recorded as the asset does.
    event = before.filter(pl.col("game_date") == DAYS[0])["event_id"][0]
    apis = replay_apis(archive, ingested)
    with dg.build_init_resource_context() as init:
        apis.setup_for_execution(init)
        try:
            live = apis.odds().event_player_points(event, ingest.PROPS_REGIONS, DAYS[0], None)
        finally:
            apis.teardown_after_execution(init)
    write_fetch(ingested / "landing", ingest.PROPS_FEED, DAYS[0], [(live.path, "event_odds")])
    assert run(ingested, offline_apis(ingested), [key], *DAYS, monkeypatch).success
    after = read(ingested, key, days)
    earlier = pl.col("snapshot_utc").is_in(before["snapshot_utc"].unique().implode())
    assert_frame_equal(after.filter(earlier), before, check_row_order=False)
    added = after.filter(~earlier)
    assert added.height > 0 and set(added["event_id"]) == {event}
    assert added["snapshot_utc"].n_unique() == 1 and (added["minutes_before_tipoff"] < 0).all()  # after tip-off


def _landed(lake: Path, feed: str, day: date, kind: str, keep=lambda body: True) -> tuple[str, dict]:
    """(label, decoded body) of the first landed file of ``kind`` in the day's first fetch that ``keep``s."""
    (record,) = sorted((lake / "landing" / "_fetches" / feed / day.isoformat()).glob("*.json"))[:1]
    for entry in json.loads(record.read_text())["files"]:
        body = json.loads(gzip.decompress((lake / "landing" / entry["path"]).read_bytes()))
        if entry["kind"] == kind and keep(body):
            return f"landing/{entry['path']}", body
    raise AssertionError(f"no {kind} body in {record}")


def test_an_unexpected_shape_names_the_file_the_field_and_the_partition(ingested: Path) -> None:
    from nba_assets.transforms.raw import PayloadError, parse_bdl_stats, parse_event_props, parse_schedule

    day = DAYS[0]
    schedule = read(ingested, ("nba_raw", "nbac_schedule"), [day])

    label, page = _landed(ingested, "bdl_stats", day, "stats_page")
    assert parse_bdl_stats({day: [(label, page)]}, schedule).height > 0  # the body as landed parses
    page["data"][2]["points"] = page["data"][2].pop("pts")
    with pytest.raises(PayloadError) as stats_error:
        parse_bdl_stats({day: [(label, page)]}, schedule)
    assert label in str(stats_error.value) and "'pts' at data[2].pts" in str(stats_error.value)
    assert f"game date {day}" in str(stats_error.value)

    label, body = _landed(ingested, "nba_schedule", day, "schedule")
    games = next(d for d in body["leagueSchedule"]["gameDates"] if d["games"][0]["gameDateEst"][:10] == str(day))
    games["games"][0]["homeTeam"]["teamTricode"] = 1610612737  # a number where the tricode belongs
    with pytest.raises(PayloadError) as schedule_error:
        parse_schedule([body], {day}, source=label)
    message = str(schedule_error.value)
    assert label in message and "'teamTricode' at leagueSchedule.gameDates[" in message
    assert f"game date {day}" in message

    label, wrapped = _landed(ingested, "odds_player_points", day, "event_odds", lambda b: b["data"]["bookmakers"])
    event = wrapped["data"]
    snapshot = datetime.fromisoformat(wrapped["timestamp"].replace("Z", "+00:00"))
    assert parse_event_props(event, snapshot, day, file=label).height > 0
    assert parse_event_props({**event, "bookmakers": []}, snapshot, day, file=label).height == 0  # no lines yet
    assert parse_event_props(None, snapshot, day, file=label).height == 0  # a 204
    outcome = event["bookmakers"][0]["markets"][0]["outcomes"][0]
    outcome["line"] = outcome.pop("point")
    with pytest.raises(PayloadError) as odds_error:
        parse_event_props(event, snapshot, day, file=label)
    assert label in str(odds_error.value) and "'point' at bookmakers[0].markets[0].outcomes[0].point" in str(
        odds_error.value
    )


def test_an_unresolved_quoted_name_lands_in_its_table_and_the_check_warns(
    ingested: Path, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A book writes one player last-name-first (a real name, reordered): beyond the fuzzy step, so
    the name lands in nba_raw/unresolved_player_names and the non-blocking check warns; the run succeeds."""
    import shutil

    edited = tmp_path / "replay"
    shutil.copytree(archive, edited)
    snapshot = sorted((edited / "odds_api" / "event_odds").rglob("*.json"))[0]
    body = json.loads(snapshot.read_text())
    outcomes = [o for b in body["bookmakers"] for m in b["markets"] for o in m["outcomes"]]
    quoted = outcomes[0]["description"]
    first, _, last = quoted.partition(" ")
    for outcome in outcomes:
        if outcome["description"] == quoted:
            outcome["description"] = f"{last} {first}"
    snapshot.write_text(json.dumps(body))
    lake = tmp_path / "lake"
    shutil.copytree(ingested, lake)

    keys = [INGEST_KEYS[2], ("nba_raw", "odds_api_player_points_props"), ("nba_raw", "unresolved_player_names")]
    strict = RawCheckThresholds(unresolved_names_per_day=0)  # NBA_UNRESOLVED_NAMES_WARN_THRESHOLD=0
    result = run(lake, replay_apis(edited, lake), keys, *DAYS, monkeypatch, run_config=REFETCH, raw_checks=strict)
    assert result.success
    unresolved = read(lake, ("nba_raw", "unresolved_player_names"), dates_between(*DAYS))
    assert unresolved.select("source", "player_name").rows() == [("odds_api", f"{last} {first}")]
    assert unresolved["count"][0] >= 1
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "unresolved_names_per_day"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["days_over_threshold"].value == 1
