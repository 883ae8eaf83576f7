"""The UI as its users meet it: a 2-day backfill of the predictions and their downstream, launched
by clicks in a real browser on `dg dev`, succeeds and touches only what it says.

A replay archive is cut from the real data (box scores and lines of 2024-11-12..2024-11-16), the
whole graph is materialized for those days with ``dg launch`` into a temporary lake and
DAGSTER_HOME, then ``dg dev`` serves that instance on a free loopback port. Debian's chromium,
driven by Playwright (never ``playwright install``), opens the asset's lineage page, shows the
asset and its downstream, opens "Materialize all…", types the range 2024-11-15...2024-11-16,
checks the preview, launches the backfill, follows the toast to the backfill page and reloads it
until the UI says "Succeeded". The instance then confirms that the backfill targeted those 2 days
of each daily asset and each season-wide document once, and the lake shows those 2 days (and the
season-wide documents) rewritten and the other days untouched. Screenshots of every step go to
``.screenshots/ui_backfill/`` (git-ignored).

Without /usr/bin/chromium the test skips locally and fails when CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from nba_assets.instance import write_instance
from nba_assets.replay import build_archive

from .conftest import BOX_SCORES, LINES
from .test_automation_dev import DG, SENSORS_QUERY, _free_port, _stop, _wait

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SHOTS = REPO / ".screenshots" / "ui_backfill"
LAKE_DAYS = ["2024-11-12", "2024-11-13", "2024-11-14", "2024-11-15", "2024-11-16"]
DAYS = ["2024-11-15", "2024-11-16"]  # 12 and 5 games: predictions on both
UNTOUCHED = [d for d in LAKE_DAYS if d not in DAYS]
ROOT = "nba_predictions/player_prop_predictions"
DAILY = {
    "nba_predictions/player_prop_predictions",
    "nba_predictions/prediction_accuracy",
    "nba_predictions/system_daily_performance",
    "exports/predictions_json",
    "exports/results_json",
    "exports/live_json",  # reads the day's predictions (its live fetch is not in the backfill: it says so)
}
SEASON_WIDE = {"nba_predictions/backtest_report", "exports/systems_performance_json", "exports/tonight_json"}
UI_TIMEOUT_MS = 60_000
BACKFILL_TIMEOUT_S = 240

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"),
    pytest.mark.skipif(not DG.exists(), reason=f"dg is not installed next to {sys.executable}"),
]


def _require_browser():
    """Playwright's sync API, or a skip (locally) / a failure (CI=true) saying what is missing."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and the browser test cannot run: {missing}")
        pytest.skip(missing)
    return sync_playwright


def _env(home: Path, lake: Path, archive: Path) -> dict[str, str]:
    from nba_assets.gameday import child_env

    return child_env(
        home, lake, archive, drop=("NBA_ALERT_WEBHOOK_URL",), DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS="1"
    )


def _lake_files(lake: Path) -> dict[str, int]:
    """mtime (ns) of every file of the selection's tables and exports, by path under the lake."""
    roots = [lake / "nba_predictions", lake / "exports", lake / "reports"]
    return {str(p.relative_to(lake)): p.stat().st_mtime_ns for r in roots for p in r.rglob("*") if p.is_file()}


def _partition_files(files: dict[str, int], day: str) -> set[str]:
    """The lake files of one day of the selection's daily tables and exports."""
    tables = [f"{k}/game_date={day}/" for k in sorted(DAILY) if k.startswith("nba_predictions/")]
    exports = [f"exports/v1/predictions/{day}.json", f"exports/v1/results/{day}.json"]
    return {p for p in files if any(p.startswith(t) for t in tables) or p in exports}


class Shots:
    def __init__(self, page):
        self.page, self.n = page, 0
        shutil.rmtree(SHOTS, ignore_errors=True)
        SHOTS.mkdir(parents=True)

    def __call__(self, name: str) -> Path:
        self.n += 1
        path = SHOTS / f"{self.n:02d}_{name}.png"
        self.page.screenshot(path=str(path))
        return path


def _launch_backfill_from_the_ui(page, base: str, shot: Shots) -> str:
    """Clicks: lineage of the root → Downstream, depth All → Materialize all… → range → preview →
    Launch backfill → the toast's View. Returns the backfill id read from the page's URL."""
    from playwright.sync_api import expect

    page.goto(f"{base}/assets/{ROOT}?view=lineage")
    page.get_by_role("button", name="Downstream").click()
    page.get_by_role("button", name="All", exact=True).click()
    page.wait_for_timeout(1500)  # the graph's layout settles
    shot("lineage_downstream")

    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    dialog.wait_for()
    title = dialog.get_by_text(re.compile(r"Launch runs to materialize \d+ assets")).inner_text()
    assert title == f"Launch runs to materialize {len(DAILY | SEASON_WIDE)} assets", title
    # the dialog loads the partitions, then offers the last 90 days; 2024 is older: "Show all partitions"
    show_all = dialog.get_by_text("Show all partitions")
    ranged = dialog.get_by_placeholder("ex:", exact=False)
    expect(dialog.get_by_text("Loading pipeline and partition sets")).to_have_count(0, timeout=UI_TIMEOUT_MS)
    show_all.or_(ranged).first.wait_for()
    shot("launch_dialog")
    if show_all.is_visible():
        show_all.click()
    ranged.fill(f"[{DAYS[0]}...{DAYS[-1]}]")
    ranged.press("Enter")
    dialog.get_by_text(f"{len(DAYS)} partitions", exact=True).wait_for()
    shot("range_entered")

    dialog.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("dialog").filter(has_text="Backfill preview")
    expect(preview.get_by_text(f"{DAYS[0]}...{DAYS[-1]}", exact=True)).to_have_count(len(DAILY), timeout=UI_TIMEOUT_MS)
    expect(preview.get_by_text("Backfills all partitions in a single run")).to_have_count(
        len(DAILY | SEASON_WIDE), timeout=UI_TIMEOUT_MS
    )
    text = preview.inner_text()
    shot("preview")
    for asset in DAILY | SEASON_WIDE:
        assert asset.split("/")[-1][-10:] in text, (asset, text)
    assert text.count(f"{DAYS[0]}...{DAYS[-1]}") == len(DAILY), text
    assert set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) <= {"2021-10-19", *DAYS}, text  # start of the partitions
    preview.get_by_role("button", name="OK").click()

    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text("Created backfill")
    toast.wait_for()
    shot("launched_toast")
    page.get_by_role("link", name="View", exact=True).click()
    page.wait_for_url(re.compile(r"/runs/b/[a-z0-9]+"))
    return re.search(r"/runs/b/([a-z0-9]+)", page.url).group(1)


def _wait_for_ui_status(page, shot: Shots) -> str:
    """Reloads the backfill page until its Status says it has finished; returns that status."""
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    status, shown_progress = "", False
    while time.monotonic() < deadline:
        page.get_by_text("Partitions targeted").wait_for()
        body = page.locator("body").inner_text()
        match = re.search(r"\nStatus\n([^\n]+)\n", body)
        status = match.group(1) if match else ""
        if status == "Succeeded" or re.search(r"fail|canceled", status, re.IGNORECASE):
            return status
        if not shown_progress and status:
            shot("backfill_in_progress")
            shown_progress = True
        page.wait_for_timeout(5000)
        page.reload()
    raise AssertionError(f"the backfill page still says {status!r} after {BACKFILL_TIMEOUT_S}s")


def test_a_two_day_backfill_launched_from_the_ui_succeeds_and_touches_only_its_days(tmp_path: Path):
    sync_playwright = _require_browser()
    started = time.monotonic()

    def phase(what: str) -> None:  # shown with -s or on failure
        print(f"[{time.monotonic() - started:6.1f}s] {what}", flush=True)

    from dagster_graphql import DagsterGraphQLClient

    keep = pl.col("game_date").is_between(pl.lit(LAKE_DAYS[0]), pl.lit(LAKE_DAYS[-1]))
    pl.read_parquet(BOX_SCORES).filter(keep).write_parquet(tmp_path / "box.parquet")
    pl.read_parquet(LINES).filter(keep).write_parquet(tmp_path / "lines.parquet")
    archive = build_archive([tmp_path / "box.parquet"], [tmp_path / "lines.parquet"], tmp_path / "replay")
    home, lake = tmp_path / "dagster_home", tmp_path / "lake"
    write_instance(home)
    env = _env(home, lake, archive)

    # the lake and the instance's history, as `make run` makes them: the whole graph, one run
    launch = subprocess.run(
        [str(DG), "launch", "--assets", "*", "--partition-range", f"{LAKE_DAYS[0]}...{LAKE_DAYS[-1]}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert launch.returncode == 0, launch.stdout[-3000:] + launch.stderr[-3000:]
    before = _lake_files(lake)
    phase("lake built: the whole graph for 5 days")
    for day in DAYS:
        assert pl.read_parquet(lake / "nba_predictions/player_prop_predictions" / f"game_date={day}").height > 0

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "dg_dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(DG), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=30)

        def location_loaded():
            if proc.poll() is not None:
                raise AssertionError(f"dg dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                return client._execute(SENSORS_QUERY)["workspaceOrError"]["locationEntries"]
            except Exception:
                return None

        _wait(location_loaded, 120, "the webserver and the code location", log)
        phase("dg dev serves the code location")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.set_default_timeout(UI_TIMEOUT_MS)
                # Dagster's "Join the community" modal may cover the page at any moment: skip it
                page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())
                shot = Shots(page)
                backfill_id = _launch_backfill_from_the_ui(page, base, shot)
                phase(f"backfill {backfill_id} launched from the UI")
                status = _wait_for_ui_status(page, shot)
                phase(f"the UI says {status}")
                shot("backfill_finished")
                assert status == "Succeeded", f"the UI says {status!r}; dg dev log:\n{log.read_text()[-4000:]}"
                body = page.locator("body").inner_text()
                assert f"{DAYS[0]}...{DAYS[-1]}" in body  # the page's "Partition selection"
                assert "100% completed" in body
                page.get_by_role("tab", name="Runs").click()
                page.get_by_text("Success").first.wait_for()
                shot("backfill_runs")
            finally:
                browser.close()

        with dg.DagsterInstance.from_config(str(home)) as instance:
            from dagster._core.execution.backfill import BulkActionStatus  # not exported by dagster

            backfill = instance.get_backfill(backfill_id)
            assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, backfill.status
            targets = backfill.asset_backfill_data.target_subset
            daily = {
                k.to_user_string(): sorted(s.get_partition_keys())
                for k, s in targets.partitions_subsets_by_asset_key.items()
            }
            assert daily == {k: DAYS for k in DAILY}, daily
            assert {k.to_user_string() for k in targets.non_partitioned_asset_keys} == SEASON_WIDE
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [r.status for r in runs]
            run_ids = {r.run_id for r in runs}
            for key in DAILY | SEASON_WIDE:
                records = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey.from_user_string(key)), limit=100
                ).records
                mine = [r for r in records if r.run_id in run_ids]
                if key in DAILY:
                    assert sorted(r.partition_key for r in mine) == DAYS, (key, [r.partition_key for r in mine])
                else:
                    assert len(mine) == 1 and mine[0].partition_key is None, (key, len(mine))
    finally:
        _stop(proc)
    assert proc.poll() is not None

    after = _lake_files(lake)
    for day in DAYS:
        files = _partition_files(before, day)
        assert len(files) >= 5, files
        assert all(after[f] > before[f] for f in files), (day, [f for f in files if after[f] <= before[f]])
    for day in UNTOUCHED:
        files = _partition_files(before, day)
        assert all(after.get(f) == before[f] for f in files), (day, [f for f in files if after.get(f) != before[f]])
    assert after["exports/v1/systems/performance.json"] > before["exports/v1/systems/performance.json"]
    for day in DAYS:
        assert pl.read_parquet(lake / "nba_predictions/player_prop_predictions" / f"game_date={day}").height > 0
