"""The fault matrix of issue 3, against the replay server's fault-injection mode on 127.0.0.1.

Each fault ends as specified: retried to success, or a clear failure with the earlier partition
intact; every attempt that returned a body left a landing file (with its status in ``.meta.json``).
Backoff is configured small and sleeps are recorded, so no test waits for seconds.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.assets import ingest, raw
from nba_assets.io.storage import LocalParquetStore, TableRef
from nba_assets.partitions import dates_between
from nba_assets.replay import Fault, ReplayServer
from nba_assets.resources import NbaApis
from nba_assets.sources.clients import BallDontLieClient, OddsApiClient
from nba_assets.sources.http import BadBodyError, HttpSource, Landing, SourceError
from nba_assets.transforms.raw import parse_event_props

from .conftest import lake_resources, local_lake
from .test_ingest import (
    DAYS,
    FAKE_BDL_KEY,
    FAKE_ODDS_KEY,
    INGEST_KEYS,
    RAW_KEYS,
    archive,  # noqa: F401 - the module's replay archive fixture
    errors,
    read,
    run,
)
from .test_objects import gcs_emulator_host  # noqa: F401 - the GCS emulator fixture

PAGED_DAY = date(2024, 11, 15)  # 260 real box-score rows: three pages of 100


class Sleeps(list):
    """Records the delays the retry loop asked for instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(name: str, url: str, landing: Path, **kwargs) -> HttpSource:
    defaults = {"read_timeout": 2.0, "max_attempts": 5, "backoff_base": 0.05, "sleep": Sleeps()}
    return HttpSource(name=name, base_url=url, landing=Landing(landing), **{**defaults, **kwargs})


def landed(landing: Path, name: str) -> list[tuple[int, bytes]]:
    """(status, body) of every landed file of a source, oldest first."""
    out = []
    for body in sorted((landing / name).rglob("*.json.gz")):
        meta = json.loads(body.with_name(body.name.replace(".json.gz", ".meta.json")).read_text())
        out.append((meta["status"], gzip.decompress(body.read_bytes())))
    return out


BDL = {"Authorization": FAKE_BDL_KEY}
STATS = ("/v1/stats", [("dates[]", "2024-11-14"), ("per_page", 100)])


def test_429_with_retry_after_then_success(archive: Path, tmp_path: Path) -> None:  # noqa: F811
    with ReplayServer(archive, faults=[Fault("/v1/stats", status=429, headers={"Retry-After": "1"})]) as server:
        bdl = source("balldontlie", server.base_url, tmp_path, headers=BDL)
        fetched = bdl.get_json(*STATS, DAYS[0])
    assert bdl.sleep == [1.0]  # Retry-After honoured, not the (smaller) backoff
    assert [s for s, _ in landed(tmp_path, "balldontlie")] == [429, 200]
    assert fetched.path is not None and len(fetched.body["data"]) == 20


def test_three_500s_then_success_backs_off_exponentially(archive: Path, tmp_path: Path) -> None:  # noqa: F811
    with ReplayServer(archive, faults=[Fault("/v1/stats", status=500, times=3)]) as server:
        bdl = source("balldontlie", server.base_url, tmp_path, headers=BDL)
        fetched = bdl.get_json(*STATS, DAYS[0])
    assert [s for s, _ in landed(tmp_path, "balldontlie")] == [500, 500, 500, 200]
    assert len(bdl.sleep) == 3
    for attempt, delay in enumerate(bdl.sleep):  # base · 2^attempt, jittered by ×[0.5, 1.5)
        assert 0.05 * 2**attempt * 0.5 <= delay < 0.05 * 2**attempt * 1.5
    assert len(fetched.body["data"]) == 20


def test_500s_beyond_the_attempt_budget_fail_clearly(archive: Path, tmp_path: Path) -> None:  # noqa: F811
    with ReplayServer(archive, faults=[Fault("/v1/stats", status=503, times=None)]) as server:
        bdl = source("balldontlie", server.base_url, tmp_path, headers=BDL, max_attempts=3)
        with pytest.raises(SourceError) as failure:
            bdl.get_json(*STATS, DAYS[0])
    assert "after 3 attempt(s): HTTP 503" in str(failure.value) and "2024-11-14" in str(failure.value)
    assert [s for s, _ in landed(tmp_path, "balldontlie")] == [503, 503, 503]


def test_a_read_timeout_is_retried(archive: Path, tmp_path: Path) -> None:  # noqa: F811
    with ReplayServer(archive, faults=[Fault("/v1/stats", delay=1.0)]) as server:
        bdl = source("balldontlie", server.base_url, tmp_path, headers=BDL, read_timeout=0.25)
        fetched = bdl.get_json(*STATS, DAYS[0])
    assert len(bdl.sleep) == 1 and len(fetched.body["data"]) == 20
    assert [s for s, _ in landed(tmp_path, "balldontlie")] == [200]  # the timed-out attempt returned no body


def test_a_truncated_body_is_landed_and_retried_then_fails_naming_the_file(
    archive: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    with ReplayServer(archive, faults=[Fault("/v1/stats", truncate=True)]) as server:
        bdl = source("balldontlie", server.base_url, tmp_path / "once", headers=BDL)
        fetched = bdl.get_json(*STATS, DAYS[0])
    bodies = landed(tmp_path / "once", "balldontlie")
    assert [s for s, _ in bodies] == [200, 200] and len(bodies[0][1]) < len(bodies[1][1])
    assert len(fetched.body["data"]) == 20

    with ReplayServer(archive, faults=[Fault("/v1/stats", truncate=True, times=None)]) as server:
        bdl = source("balldontlie", server.base_url, tmp_path / "always", headers=BDL, max_attempts=2)
        with pytest.raises(BadBodyError) as failure:
            bdl.get_json(*STATS, DAYS[0])
    files = sorted((tmp_path / "always" / "balldontlie").rglob("*.json.gz"))
    assert len(files) == 2 and str(files[-1]) in str(failure.value) and "not JSON" in str(failure.value)


def test_pagination_across_three_pages(archive: Path, tmp_path: Path, box_scores: pl.DataFrame) -> None:  # noqa: F811
    with ReplayServer(archive) as server:
        client = BallDontLieClient(source("balldontlie", server.base_url, tmp_path, headers=BDL))
        pages = client.stats(PAGED_DAY)
    assert len(pages) == 3 and len({p.path for p in pages}) == 3
    assert [len(p.body["data"]) for p in pages] == [100, 100, 60]
    assert "next_cursor" not in pages[-1].body["meta"]
    ids = [(r["game"]["id"], r["player"]["id"]) for p in pages for r in p.body["data"]]
    expected = box_scores.filter(pl.col("game_date") == PAGED_DAY)
    assert sorted(ids) == sorted((int(g), p) for g, p in expected.select("game_id", "player_id").iter_rows())


def test_an_empty_props_response_is_no_lines_yet(archive: Path, tmp_path: Path) -> None:  # noqa: F811
    event_id = next((archive / "odds_api" / "event_odds").iterdir()).name
    faults = [Fault("/odds", no_content=True), Fault("/odds", empty_bookmakers=True)]
    with ReplayServer(archive, faults=faults) as server:
        odds = OddsApiClient(source("odds_api", server.base_url, tmp_path, params={"apiKey": FAKE_ODDS_KEY}))
        no_content = odds.event_player_points(event_id, "us,us_dfs", DAYS[0], None)
        no_bookmakers = odds.event_player_points(event_id, "us,us_dfs", DAYS[0], None)
    assert no_content.status == 204 and no_content.body is None and no_content.path is None
    assert no_bookmakers.status == 200 and no_bookmakers.body["bookmakers"] == []
    snapshot = datetime(2024, 11, 14, tzinfo=UTC)
    for fetched in (no_content, no_bookmakers):
        assert parse_event_props(fetched.body, snapshot, DAYS[0]).height == 0
    assert [s for s, _ in landed(tmp_path, "odds_api")] == [200]  # the 204 had no body to land


# ------------------------------------------------------------------------ on real Dagster runs


def fault_apis(server: ReplayServer, lake: Path, **kwargs) -> NbaApis:
    url = server.base_url
    return NbaApis(
        lake=local_lake(lake),
        balldontlie_api_key=FAKE_BDL_KEY,
        odds_api_key=FAKE_ODDS_KEY,
        balldontlie_base_url=url,
        nba_cdn_base_url=url,
        nba_stats_base_url=url,
        odds_api_base_url=url,
        backoff_base=0.01,
        **kwargs,
    )


@pytest.fixture(scope="module")
def good_lake(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """Ingest + raw over DAYS, with three 500s on the stats endpoint on the way (retried to success)."""
    lake = tmp_path_factory.mktemp("fault_lake")
    with (
        pytest.MonkeyPatch.context() as mp,
        ReplayServer(archive, faults=[Fault("/v1/stats", status=500, times=3)]) as s,
    ):
        assert run(lake, fault_apis(s, lake), INGEST_KEYS + RAW_KEYS, *DAYS, mp).success
    statuses = [
        json.loads(p.read_text())["status"] for p in sorted((lake / "landing" / "balldontlie").rglob("*.meta.json"))
    ]
    assert statuses.count(500) == 3 and statuses.count(200) >= 2
    return lake


def _partition_bytes(lake: Path, key: tuple[str, str]) -> dict[date, bytes]:
    store = LocalParquetStore(lake)
    return {d: store.partition_file(TableRef(*key), d).read_bytes() for d in dates_between(*DAYS)}


def test_a_renamed_field_holds_back_the_days_and_keeps_the_stored_partitions(
    good_lake: Path,
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every stats body of the window lacks ``pts``: both days are held back, the run succeeds, the
    lake's partitions stay byte-identical and each day's materialization names file and field."""
    lake = tmp_path / "lake"
    shutil.copytree(good_lake, lake)
    key = ("nba_raw", "bdl_player_boxscores")
    before = _partition_bytes(lake, key)
    with ReplayServer(archive, faults=[Fault("/v1/stats", rename={"pts": "points"}, times=None)]) as server:
        result = run(lake, fault_apis(server, lake), [INGEST_KEYS[1], key], *DAYS, monkeypatch)
    assert result.success
    mats = [e.materialization for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)]
    assert sorted(m.partition for m in mats) == [d.isoformat() for d in dates_between(*DAYS)]
    for mat in mats:
        assert mat.metadata["held_back"].value is True, mat.partition
        assert mat.metadata["held_back_field"].value == "data[0].pts"
        assert f"landing/balldontlie/{mat.partition}/" in mat.metadata["held_back_file"].value
        assert f"game date {mat.partition}" in mat.metadata["held_back_error"].value
        assert "field 'pts' at data[0].pts: Field required" in mat.metadata["held_back_error"].value
    assert _partition_bytes(lake, key) == before
    assert not list((lake / "nba_raw" / "bdl_player_boxscores").glob(".staging-*"))
    # The renamed bodies were landed (append-only) and their fetch records are the newest.
    records = sorted((lake / "landing" / "_fetches" / "bdl_stats" / DAYS[1].isoformat()).glob("*.json"))
    assert len(records) == 2
    newest = json.loads(records[-1].read_text())["files"]
    assert len(newest) == 3 and b'"points"' in gzip.decompress((lake / "landing" / newest[0]["path"]).read_bytes())


def test_a_body_truncated_on_every_attempt_fails_without_dagster_retries(
    good_lake: Path,
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(good_lake, lake)
    before = read(lake, ("nba_raw", "nbac_schedule"), dates_between(*DAYS))
    schedule_path = "/static/json/staticData/scheduleLeagueV2.json"
    with ReplayServer(archive, faults=[Fault(schedule_path, truncate=True, times=None)]) as server:
        apis = fault_apis(server, lake, max_attempts=2)
        result = run(lake, apis, [INGEST_KEYS[0], RAW_KEYS[0]], *DAYS, monkeypatch, raise_on_error=False)
    assert not result.success
    message = errors(result)
    assert "landing/nba_cdn/" in message and "not JSON" in message and "2024-11-14" in message
    steps = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert steps == []  # a body that never parses is not retried by Dagster
    assert_frame_equal(read(lake, ("nba_raw", "nbac_schedule"), dates_between(*DAYS)), before)
    assert len(list((lake / "landing" / "nba_cdn").rglob("*.json.gz"))) == 1 + 2  # the good run's, then 2 attempts


def test_api_keys_never_reach_logs_landing_tags_or_exceptions(
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    lake = tmp_path / "lake"
    # A rejected key (401) on the odds API: the failure message, logs and landing must not carry it.
    faults = [Fault("/v4/", status=401, times=None)]
    with ReplayServer(archive, faults=faults) as server:
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize(
                [*dg.load_assets_from_modules([ingest, raw])],
                selection=[dg.AssetKey(list(k)) for k in INGEST_KEYS + RAW_KEYS[:2]],
                resources={**lake_resources(lake), "apis": fault_apis(server, lake)},
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": DAYS[0].isoformat(),
                    "dagster/asset_partition_range_end": DAYS[1].isoformat(),
                },
                raise_on_error=False,
            )
            records = instance.get_run_records()
            logs = instance.all_logs(result.run_id)
    assert not result.success and "HTTP 401" in errors(result)
    assert "apiKey=REDACTED" in errors(result)
    # balldontlie (Authorization header) and the schedule succeeded: their bodies were landed.
    assert list((lake / "landing" / "balldontlie").rglob("*.json.gz"))

    captured = capfd.readouterr()
    texts = [errors(result), captured.out, captured.err]
    texts += [json.dumps(r.dagster_run.tags) + json.dumps(r.dagster_run.run_config, default=str) for r in records]
    texts += [str(entry.user_message) + repr(entry.dagster_event) for entry in logs]
    texts += [p.read_bytes().decode("utf-8", "replace") for p in (lake / "landing").rglob("*.json")]
    texts += [gzip.decompress(p.read_bytes()).decode("utf-8", "replace") for p in (lake / "landing").rglob("*.gz")]
    assert len(logs) > 20
    for secret in (FAKE_BDL_KEY, FAKE_ODDS_KEY):
        leaks = [t[:200] for t in texts if secret in t]
        assert leaks == [], (secret, leaks)


def test_a_real_key_is_required_without_the_replay_server(tmp_path: Path) -> None:
    apis = NbaApis(lake=local_lake(tmp_path), odds_api_base_url="http://127.0.0.1:9")
    with pytest.raises(dg.DagsterInvariantViolationError, match="ODDS_API_KEY is not set"):
        apis.odds()


def test_landing_is_mirrored_write_once_to_gcs(
    archive: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    gcs_emulator_host: str,  # noqa: F811
) -> None:
    """With the lake's GCS object store configured (emulator on 127.0.0.1), every landed body, its
    metadata and the fetch record also land in the bucket under the same keys (the copy the
    ``apis`` resource hands its sources and ``write_fetch``)."""
    import uuid

    from nba_assets.io.objects import GcsObjectStore
    from nba_assets.sources.landing import write_fetch

    from .test_objects import BUCKET

    prefix = f"ingest-{uuid.uuid4().hex[:8]}/"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator_host)  # the Google client's own switch
    lake = local_lake(tmp_path / "lake", object_store="gcs", gcs_bucket=BUCKET, gcs_prefix=prefix, gcs_emulated=True)
    landing = lake.landing_dir()
    with ReplayServer(archive) as server:
        http = source("balldontlie", server.base_url, landing, headers=BDL)
        http.landing.copy = lake.mirror_landed
        fetched = http.get_json(*STATS, DAYS[0])
    record = write_fetch(landing, "bdl_stats", DAYS[0], [(fetched.path, "stats_page")], copy=lake.mirror_landed)
    bucket = GcsObjectStore(BUCKET, prefix=prefix)
    body_key = fetched.path.relative_to(landing.parent).as_posix()
    meta_key = body_key.replace(".json.gz", ".meta.json")
    record_key = record.relative_to(landing.parent).as_posix()
    assert bucket.list("landing/") == sorted([body_key, meta_key, record_key])
    assert bucket.get(body_key) == fetched.path.read_bytes()
    assert FAKE_BDL_KEY not in bucket.get(meta_key).decode()
