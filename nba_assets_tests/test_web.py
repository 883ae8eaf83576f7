"""The web front end (issue 15) in a real browser, over exports a real Dagster run wrote from data/.

One lake per module: the real upstream tables of 2023-10..2024-11-22 (box scores, the
PrizePicks / Underdog lines as the replay records them, the feature store of 2024-10-22..11-22
through the project's own transforms), then the models, predictions, grading and exports groups
run by Dagster over 2024-11-11..2024-11-22 (tonight = 2024-11-22). The pages are served by
``nba_assets.web`` from that lake's ``exports/v1`` and driven by headless Debian Chromium through
Playwright (``executable_path=/usr/bin/chromium``; ``playwright install`` is never run). Every page
is also screenshotted into ``.screenshots/`` (git-ignored).

Without Chromium or Playwright the browser tests skip locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import httpx
import jsonschema
import polars as pl
import pytest

from nba_assets.transforms.exports import BREAK_EVEN_110, season_start, wilson_interval
from nba_assets.web.server import ExportSource, serve_in_thread

from .conftest import BOX_SCORES, LINES, REPO, SCREENSHOTS, raw_box_from_box_scores, schedule_from_box_scores

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BOX_SCORES.is_file() and LINES.is_file()), reason="real data files are not present"),
]

FEATURES = (date(2024, 10, 22), date(2024, 11, 22))  # feature rows: the first month of 2024-25
RUN = (date(2024, 11, 11), date(2024, 11, 22))  # the Dagster run of models .. exports
TONIGHT = RUN[1]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def lake(box_scores, points_lines, tmp_path_factory) -> Path:
    import dagster as dg

    from nba_assets.partitions import dates_between
    from nba_assets.real_data import props_from_lines

    from . import graph

    lake = tmp_path_factory.mktemp("web_lake")
    days = dates_between(FEATURES[0] - timedelta(days=366), FEATURES[1])
    box = box_scores.filter(pl.col("game_date").is_between(days[0], days[-1]))
    props = props_from_lines(points_lines.filter(pl.col("game_date") <= FEATURES[1]))
    graph.write_raw(lake, (raw_box_from_box_scores(box), schedule_from_box_scores(box), props), days)
    graph.run(lake, days[0], FEATURES[0] - timedelta(days=1), graph.PHASE3)
    graph.run(lake, *FEATURES)  # the feature store of FEATURES, as its assets store it
    graph.run(lake, *RUN, dg.AssetSelection.groups("models", "predictions", "grading", "exports"))
    return lake


@pytest.fixture(scope="module")
def exports(lake: Path) -> Path:
    return lake / "exports" / "v1"


def _doc(exports: Path, *parts: str) -> dict:
    return json.loads(exports.joinpath(*parts).read_text())


@pytest.fixture(scope="module")
def base_url(exports: Path):
    server = serve_in_thread(ExportSource(directory=exports))
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Page:
    """A browser page on the server, collecting console errors and uncaught exceptions."""

    def __init__(self, browser, base_url: str, viewport: dict) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, fragment: str) -> None:
        self.page.goto(f"{self.base_url}/{fragment}")
        self.wait(fragment)

    def wait(self, fragment: str) -> None:
        self.page.wait_for_function("h => document.body.dataset.ready === h", arg=fragment, timeout=15_000)

    def shot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000, path  # a rendered page, not a blank one
        return path

    def rows(self, selector: str) -> int:
        return self.page.locator(f"{selector} tbody tr[data-player]").count()

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


@pytest.fixture
def desktop(browser, base_url):
    page = Page(browser, base_url, DESKTOP)
    yield page
    page.close()


@pytest.fixture
def phone(browser, base_url):
    page = Page(browser, base_url, PHONE)
    yield page
    page.close()


def _lined(document: dict) -> list[dict]:
    return [p for g in document["games"] for p in g["players"] if p["points_line"] is not None]


# ------------------------------------------------------------------- the pipeline's new fields


def test_exports_validate_and_the_new_fields_use_only_games_before_the_date(lake: Path, exports: Path) -> None:
    from nba_assets.io.storage import LocalParquetStore, TableRef
    from nba_assets.partitions import dates_between
    from nba_assets.schemas import schema_for

    kinds = {"predictions/*.json": "day", "tonight/all-players.json": "day", "tonight/player/*.json": "player",
             "results/*.json": "results"}  # fmt: skip
    for pattern, kind in kinds.items():
        validator = jsonschema.Draft202012Validator(
            json.loads((REPO / "docs/schemas" / f"{kind}.schema.json").read_text())
        )
        files = sorted(exports.glob(pattern))
        assert files, pattern
        for path in files[-3:] if kind == "day" else files:  # the day documents are large: the latest three
            validator.validate(json.loads(path.read_text()))

    tonight = _doc(exports, "tonight", "all-players.json")
    assert tonight["game_date"] == TONIGHT.isoformat()
    summary_key = ("nba_analytics", "player_game_summary")
    summary = LocalParquetStore(lake).read_window(
        TableRef(*summary_key), dates_between(TONIGHT - timedelta(days=365), TONIGHT), schema_for(*summary_key)
    )
    lined = _lined(tonight)
    assert len(lined) > 50
    checked = 0
    for player in lined[:25]:
        games = (
            summary.filter(
                (pl.col("player_id") == player["player_id"]) & (pl.col("game_date") < TONIGHT) & (pl.col("minutes") > 0)
            )
            .sort("game_date", descending=True)["pts"]
            .to_list()
        )
        line = player["points_line"]
        for name, n in (("last_5", 5), ("last_10", 10), ("last_20", 20)):
            window = games[:n]
            got = player["hit_rates"][name]
            assert got["games"] == len(window), (player["name"], name)
            assert got["over"] == sum(p > line for p in window) and got["under"] == sum(p < line for p in window)
            checked += 1
        season = summary.filter(
            (pl.col("player_id") == player["player_id"])
            & pl.col("game_date").is_between(season_start(TONIGHT), TONIGHT, closed="left")
            & (pl.col("minutes") > 0)
        )
        assert player["hit_rates"]["season"]["games"] == season.height
        assert player["hit_rates"]["season"]["over"] == (season["pts"] > line).sum()
    assert checked == 75
    # Tonight's own game is never counted: his points tonight are in the lake, not in the rates.
    assert summary.filter(pl.col("game_date") == TONIGHT).height > 0

    # Opponent defense: season points allowed per game before tonight, ranked among the 30 teams.
    ranks = {p["opponent"]: p["opponent_defense"] for p in lined}
    allowed = (
        summary.filter(pl.col("game_date").is_between(season_start(TONIGHT), TONIGHT, closed="left"))
        .group_by("team", "game_id")
        .agg(pl.col("opp_pts").first())
        .group_by("team")
        .agg(pl.col("opp_pts").mean().alias("allowed"), pl.len().alias("games"))
        .sort("allowed")
    )
    order = allowed["team"].to_list()
    for team, d in ranks.items():
        assert d["teams"] == 30 and d["rank"] == order.index(team) + 1, team
        assert d["games"] == allowed.filter(pl.col("team") == team)["games"][0]

    # Past calls on tonight's players: graded calls of earlier dates only.
    calls = [c for p in exports.glob("tonight/player/*.json") for c in json.loads(p.read_text())["past_calls"]]
    assert calls and all(date.fromisoformat(c["game_date"]) < TONIGHT for c in calls)
    assert {c["grade"] for c in calls} <= {"correct", "incorrect", "push", "void"}

    # Track record (season-wide, in systems/performance.json): the day-by-day results files add up
    # to its season totals.
    performance = _doc(exports, "systems", "performance.json")
    record = performance["track_record"]
    assert record["through"] == performance["as_of"] == TONIGHT.isoformat()
    assert record["break_even_hit_rate"] == round(BREAK_EVEN_110, 3) == 0.524
    per_day = [_doc(exports, "results", f"{d.isoformat()}.json") for d in dates_between(*RUN)]
    for system_id, s in record["systems"].items():
        rows = [r for doc in per_day for r in doc["results"] if r["system_id"] == system_id]
        assert s["bets"] == sum(r["grade"] in ("correct", "incorrect") for r in rows), system_id
        assert s["hits"] == sum(r["grade"] == "correct" for r in rows)
        assert s["daily"][-1]["cumulative_units"] == pytest.approx(s["units"], abs=0.01)
        if s["bets"]:
            low, high = wilson_interval(s["hits"], s["bets"])
            assert s["wilson_low"] == pytest.approx(low, abs=1e-3) and s["wilson_high"] == pytest.approx(high, abs=1e-3)
            assert s["wilson_low"] <= s["hit_rate"] <= s["wilson_high"]
            assert s["edge_shown"] == (low > BREAK_EVEN_110)
        lined_played = [
            r for r in rows
            if r["p_over"] is not None and r["points_line"] is not None and r["played"]
            and r["actual_points"] is not None and r["actual_points"] != r["points_line"]
        ]  # fmt: skip
        assert sum(b["n"] for b in s["calibration"]) == len(lined_played), system_id
    assert any(s["calibration"] for s in record["systems"].values())


def test_server_serves_the_exports_and_nothing_else(exports: Path, base_url: str) -> None:
    index = httpx.get(f"{base_url}/index/dates.json").json()
    assert index["predictions"][0] == index["results"][0] == TONIGHT.isoformat()
    assert len(index["predictions"]) == len(list(exports.glob("predictions/*.json")))
    tonight = httpx.get(f"{base_url}/v1/tonight/all-players.json")
    assert tonight.status_code == 200 and tonight.json() == _doc(exports, "tonight", "all-players.json")
    assert tonight.headers["content-type"] == "application/json"
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    for bad in ("/v1/../../README.md", "/v1/%2e%2e/x.json", "/v1/predictions/1999-01-01.json", "/static/../server.py",
                "/etc/passwd"):  # fmt: skip
        assert httpx.get(f"{base_url}{bad}").status_code == 404, bad


def test_server_reads_the_exports_from_a_base_url(exports: Path) -> None:
    """With a base URL (the bucket's public exports) the server fetches each file from it."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda self, *a: None})
    bucket = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(exports)))
    threading.Thread(target=bucket.serve_forever, daemon=True).start()
    web = serve_in_thread(ExportSource(base_url=f"http://127.0.0.1:{bucket.server_address[1]}/"))
    try:
        url = f"http://127.0.0.1:{web.server_address[1]}"
        day = f"results/{TONIGHT.isoformat()}.json"
        assert httpx.get(f"{url}/v1/{day}").json() == _doc(exports, day)
        assert httpx.get(f"{url}/v1/predictions/1999-01-01.json").status_code == 404
        assert httpx.get(f"{url}/index/dates.json").json() == {
            "predictions": [],
            "results": [],
            "live": [],
            "tonight": None,
        }
    finally:
        for server in (web, bucket):
            server.shutdown()
            server.server_close()


# ------------------------------------------------------------------------------ the browser


def test_tonight_lists_every_lined_player_with_charts_and_working_filters(desktop: Page, exports: Path) -> None:
    tonight = _doc(exports, "tonight", "all-players.json")
    lined = _lined(tonight)
    desktop.open("#/")
    page = desktop.page
    assert page.locator("h1").inner_text() == f"Tonight: {TONIGHT.isoformat()}"
    assert desktop.rows("#tonight-table") == len(lined)
    names = page.locator("#tonight-table tbody a.player-link").all_inner_texts()
    assert sorted(names) == sorted(p["name"] for p in lined)
    assert page.locator("#tonight-table svg.spark").count() == len(lined)
    assert page.locator("#tonight-table svg.spark rect").count() == sum(len(p["last_10_games"]) for p in lined)
    assert "DFS lines" in page.locator("main").inner_text()  # the data has no prices: said plainly
    # A player's row shows the numbers of the export.
    first = lined[0]
    row = page.locator(f'#tonight-table tr[data-player="{first["player_lookup"]}"]')
    text = row.inner_text()
    assert f"{first['points_line']:.1f}" in text and f"{first['predicted_points']:.1f}" in text
    l10 = first["hit_rates"]["last_10"]
    assert f"{l10['over']}/{l10['games']}" in row.locator("td.col-l10").inner_text()
    assert f"#{first['opponent_defense']['rank']}" in row.locator("td.col-opp_d").inner_text()
    desktop.shot("tonight")

    # Team filter: only that team's lined players.
    team = first["team"]
    page.select_option("#f-team", team)
    assert desktop.rows("#tonight-table") == sum(p["team"] == team for p in lined) < len(lined)
    page.select_option("#f-team", "")
    # Call filter: PASS rows say there is no edge.
    passes = [p for p in lined if p["recommendation"] == "PASS"]
    page.select_option("#f-call", "PASS")
    assert desktop.rows("#tonight-table") == len(passes) > 0
    assert page.locator("#tonight-table .noedge").count() == len(passes)
    assert set(page.locator("#tonight-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.call)")) == {"PASS"}
    page.select_option("#f-call", "")
    # Minimum |edge|.
    page.fill("#f-edge", "1")
    assert desktop.rows("#tonight-table") == sum(p["edge"] is not None and abs(p["edge"]) >= 1 for p in lined)
    page.fill("#f-edge", "0")
    # Sort by prediction, descending, by clicking the header twice.
    page.click('#tonight-table th[data-key="pred"]')
    page.click('#tonight-table th[data-key="pred"]')
    shown = page.locator("#tonight-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.player)")
    expected = sorted(lined, key=lambda p: -p["predicted_points"])
    assert [p["predicted_points"] for p in expected] == [
        next(p for p in lined if p["player_lookup"] == lookup)["predicted_points"] for lookup in shown
    ]
    # Players without a line are one tick away.
    page.check("#f-unlined")
    assert desktop.rows("#tonight-table") == sum(len(g["players"]) for g in tonight["games"]) > len(lined)


def test_player_page_linked_from_tonight_charts_his_games_against_the_line(desktop: Page, exports: Path) -> None:
    docs = [json.loads(p.read_text()) for p in sorted(exports.glob("tonight/player/*.json"))]
    doc = max(
        (d for d in docs if d["player"]["points_line"] is not None),
        key=lambda d: (len(d["past_calls"]), len(d["player"]["last_10_games"])),
    )
    player = doc["player"]
    desktop.open("#/")
    desktop.page.locator(f'#tonight-table tr[data-player="{player["player_lookup"]}"] a.player-link').click()
    desktop.wait(f"#/player/{player['player_lookup']}")
    page = desktop.page
    assert page.locator("#player-name").inner_text() == player["name"]
    assert page.locator("svg.chart rect.game-bar").count() == len(player["last_10_games"]) > 0
    titles = page.locator("svg.chart rect.game-bar title").all_text_contents()
    last = player["last_10_games"][0]
    assert any(t.startswith(f"{last['game_date']} vs {last['opponent']}: {last['points']} points") for t in titles)
    assert page.locator("#systems-table tbody tr").count() == len(player["predictions"])
    assert page.locator("#past-calls tbody tr").count() == len(doc["past_calls"]) > 0
    body = page.locator("main").inner_text()
    season = player["hit_rates"]["season"]
    assert f"{season['over']}/{season['games']}" in body
    assert f"#{player['opponent_defense']['rank']} of 30" in body
    desktop.shot("player")


def test_results_page_of_a_date_with_names_and_a_system_filter(desktop: Page, exports: Path) -> None:
    day = date(2024, 11, 20)
    doc = _doc(exports, "results", f"{day.isoformat()}.json")
    desktop.open(f"#/results/{day.isoformat()}")
    page = desktop.page
    assert page.locator("h1").inner_text() == f"Results: {day.isoformat()}"
    calls = [r for r in doc["results"] if r["recommendation"] in ("OVER", "UNDER")]
    assert page.locator("#results-table tbody tr").count() == len(calls) > 0
    names = set(page.locator("#results-table tbody td:first-child").all_inner_texts())
    assert names == {r["name"] for r in calls} and None not in names
    assert page.locator("svg.chart rect.units-bar").count() == len(doc["systems"])
    desktop.shot("results")
    system = "moving_average"
    page.select_option("#r-system", system)
    assert page.locator("#results-table tbody tr").count() == sum(r["system_id"] == system for r in calls)
    page.uncheck("#r-calls")
    assert page.locator("#results-table tbody tr").count() == sum(r["system_id"] == system for r in doc["results"])
    # The date list reaches every results file.
    assert page.locator("details .datelist a").count() == len(list(exports.glob("results/*.json")))
    # A name links to the player's page of that date (from that date's predictions export).
    first = next(r for r in calls if r["system_id"] == system)
    page.locator("#results-table tbody a", has_text=first["name"]).first.click()
    desktop.wait(f"#/player/{first['player_lookup']}/{day.isoformat()}")
    assert page.locator("#player-name").inner_text() == first["name"]
    assert page.locator("svg.chart rect.game-bar").count() > 0
    assert "exported with tonight's player files only" in page.locator("main").inner_text()


def test_track_record_shows_intervals_units_and_calibration_and_says_there_is_no_edge(
    desktop: Page, exports: Path
) -> None:
    record = _doc(exports, "systems", "performance.json")["track_record"]
    systems = record["systems"]
    desktop.open("#/track")
    page = desktop.page
    text = page.locator("main").inner_text()
    for system_id, s in systems.items():
        row = page.locator("#track-table tbody tr", has_text=system_id).inner_text()
        assert f"{s['bets']}" in row, system_id
        if not s["bets"]:  # a system that made no call in the window (its calls need an edge)
            assert s["hit_rate"] is None and "—" in row, (system_id, row)
            continue
        assert f"{100 * s['hit_rate']:.1f}%" in row, system_id
        assert f"{100 * s['wilson_low']:.1f}%–{100 * s['wilson_high']:.1f}%" in row
    if not any(s["edge_shown"] for s in systems.values()):
        assert "No edge is shown." in text
    assert "52.4%" in text
    assert page.locator("svg.chart circle.hit-rate").count() == sum(s["bets"] > 0 for s in systems.values())
    assert page.locator("svg.chart polyline.units-line").count() == sum(bool(s["daily"]) for s in systems.values())
    current = page.locator("#c-system").input_value()
    assert page.locator("#calibration circle.calibration-point").count() == len(systems[current]["calibration"]) > 0
    other = next(s for s in sorted(systems) if s != current and systems[s]["calibration"])
    page.select_option("#c-system", other)
    assert page.locator("#calibration circle.calibration-point").count() == len(systems[other]["calibration"])
    desktop.shot("track-record")


def test_every_page_works_in_a_phone_viewport(phone: Page, exports: Path) -> None:
    tonight = _doc(exports, "tonight", "all-players.json")
    lookup = _lined(tonight)[0]["player_lookup"]
    pages = {
        "tonight": "#/",
        "player": f"#/player/{lookup}",
        "results": f"#/results/{TONIGHT.isoformat()}",
        "track-record": "#/track",
    }
    for name, fragment in pages.items():
        phone.open(fragment)
        page = phone.page
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width)  # nothing wider than the phone
        assert page.locator("svg").count() > 0, name
        assert page.locator("nav a").first.is_visible()
        phone.shot(f"phone-{name}")
    # The tonight table turns into cards: no header row, one labelled card per player.
    phone.open("#/")
    assert not phone.page.locator("#tonight-table thead").is_visible()
    card = phone.page.locator("#tonight-table tbody tr").first
    assert card.locator("td.col-line").evaluate("td => getComputedStyle(td, '::before').content") == '"Line"'
    phone.page.select_option("#f-call", "UNDER")
    assert phone.rows("#tonight-table") == sum(p["recommendation"] == "UNDER" for p in _lined(tonight))


def test_without_a_tonight_file_the_page_offers_the_dates(browser, exports: Path, tmp_path: Path) -> None:
    partial = tmp_path / "v1"
    for kind in ("predictions", "results"):  # everything the date list and a day page read; no tonight/
        shutil.copytree(exports / kind, partial / kind)
    server = serve_in_thread(ExportSource(directory=partial))
    page = Page(browser, f"http://127.0.0.1:{server.server_address[1]}", DESKTOP)
    try:
        page.open("#/")
        assert "No tonight export yet" in page.page.locator("main").inner_text()
        page.shot("no-tonight")
        links = page.page.locator(".datelist a")
        assert links.count() == len(list(partial.glob("predictions/*.json")))
        day = "2024-11-15"
        page.page.locator(".datelist a", has_text=day).click()
        page.wait(f"#/day/{day}")
        assert page.page.locator("h1").inner_text() == f"Game date: {day}"
        assert page.rows("#tonight-table") == len(_lined(_doc(partial, "predictions", f"{day}.json"))) > 0
        page.shot("no-tonight-a-date-picked")
    finally:
        page.close()
        server.shutdown()
        server.server_close()


def test_make_web_serves_the_lake_exports(browser, lake: Path, exports: Path) -> None:
    """``make web PORT=… NBA_LAKE_DIR=…`` itself: the target a user runs, on 127.0.0.1."""
    import signal
    import socket
    import subprocess
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "NBA_LAKE_DIR": str(lake)}
    process = subprocess.Popen(
        ["make", "--no-print-directory", "web", f"PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: make and the server it started stop together
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/index/dates.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "make web did not start serving within 60 s"
            time.sleep(0.3)
        page = Page(browser, f"http://127.0.0.1:{port}", DESKTOP)
        try:
            page.open("#/")
            assert page.rows("#tonight-table") == len(_lined(_doc(exports, "tonight", "all-players.json"))) > 0
        finally:
            page.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert f"on http://127.0.0.1:{port}/" in output and str(exports) in output
