// The web front end: reads only the JSON exports under /v1/ (and /index/dates.json, the server's
// listing of which dates have exports). Every figure shown is a field of an export document; the
// charts are inline SVG drawn here.
"use strict";

const app = document.getElementById("app");
const DFS_SOURCES = new Set(["prizepicks", "underdog", "pick6", "betr", "sleeper", "draftkings_pick6"]);
const SYSTEM_COLORS = ["#2557d6", "#d97706", "#0f766e", "#9333ea", "#dc2626", "#4b5563", "#0891b2", "#65a30d"];
const cache = new Map();

// ------------------------------------------------------------------------------ helpers

async function getJSON(path) {
  if (cache.has(path)) return cache.get(path);
  const response = await fetch(path, { cache: "no-cache" });
  const body = response.ok ? await response.json() : null;
  if (response.ok) cache.set(path, body);
  return body;
}

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function num(value, digits = 1) {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : Number(value).toFixed(digits);
}
function signed(value, digits = 1) {
  if (value === null || value === undefined) return "—";
  const text = Number(value).toFixed(digits);
  if (Number(text) === 0) return (0).toFixed(digits); // no "-0.0"
  return (value > 0 ? "+" : "") + text;
}
// A round step for about ``count`` axis ticks over ``span``.
function niceStep(span, count = 6) {
  const raw = span / count, power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
}
function pct(value, digits = 1) {
  return value === null || value === undefined ? "—" : (100 * value).toFixed(digits) + "%";
}
function price(value) {
  return value === null || value === undefined ? "—" : value > 0 ? "+" + value : String(value);
}
function badge(call) {
  return `<span class="badge ${esc(call)}">${esc(call)}</span>`;
}
function systemColor(systems, id) {
  return SYSTEM_COLORS[Math.max(0, systems.indexOf(id)) % SYSTEM_COLORS.length];
}
function tipoff(utc) {
  if (!utc) return "tip-off time unknown";
  const d = new Date(utc);
  return d.toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit", timeZone: "America/New_York" }) + " ET";
}
function setActive(name) {
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === name));
}
function notice(text) {
  return `<div class="notice">${text}</div>`;
}
async function dates() {
  return (await getJSON("/index/dates.json")) || { predictions: [], results: [], live: [], tonight: null };
}
// The dates with an export, newest first; open when the page has nothing else to show.
function dateLinks(list, current, hrefFor, label, open = false) {
  if (!list.length) return "";
  const links = list.map((d) => `<a href="${hrefFor(d)}" class="${d === current ? "current" : ""}">${esc(d)}</a>`).join("");
  return `<details class="card" ${open ? "open" : ""}><summary>${esc(label)} (${list.length})</summary><div class="datelist">${links}</div></details>`;
}

// ------------------------------------------------------------------------------ SVG charts

function svg(width, height, body, cls = "chart", label = "") {
  const size = cls === "chart" ? "" : ` width="${width}" height="${height}"`; // charts: CSS width, height from the viewBox
  return `<svg class="${cls}" viewBox="0 0 ${width} ${height}"${size} role="img" aria-label="${esc(label)}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

// Charts are drawn at the page's width (640 at most) so their 11 px labels stay legible on a phone.
function chartWidth() {
  return Math.round(Math.max(340, Math.min(640, app.clientWidth - 4)));
}

function barColor(points, line) {
  if (points === null || line === null || line === undefined) return "#9aa4b2";
  return points > line ? "var(--over)" : points < line ? "var(--under)" : "var(--pass)";
}

// Tiny bars of the last games (oldest left), each coloured against its own line; dashed: tonight's line.
function sparkline(games, tonightLine) {
  const g = [...games].reverse();
  if (!g.length) return '<span class="muted small">no games</span>';
  const w = 110, h = 28, bw = w / 10;
  const max = Math.max(1, tonightLine || 0, ...g.map((x) => x.points || 0));
  let body = g.map((x, i) => {
    const bh = Math.max(1, ((x.points || 0) / max) * (h - 2));
    return `<rect x="${(i * bw + 1).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${barColor(x.points, x.points_line)}"><title>${esc(x.game_date)} vs ${esc(x.opponent)}: ${x.points ?? "—"} pts, line ${num(x.points_line)}</title></rect>`;
  }).join("");
  if (tonightLine !== null && tonightLine !== undefined) {
    const y = h - (tonightLine / max) * (h - 2);
    body += `<line x1="0" x2="${w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#111" stroke-dasharray="3 2" stroke-width="1"/>`;
  }
  return svg(w, h, body, "spark", "last games against the line");
}

// The player's last games against their lines: bars = points, black tick = that game's line,
// dashed = tonight's line.
function lastGamesChart(games, tonightLine) {
  const g = [...games].reverse();
  const w = chartWidth(), h = 270, left = 34, right = 10, top = 16, bottom = 46;
  const max = Math.max(5, tonightLine || 0, ...g.map((x) => Math.max(x.points || 0, x.points_line || 0))) * 1.12;
  const y = (v) => top + (h - top - bottom) * (1 - v / max);
  const step = (w - left - right) / Math.max(g.length, 1);
  let body = "";
  for (let t = 0; t <= max; t += max > 40 ? 10 : 5) {
    body += `<line x1="${left}" x2="${w - right}" y1="${y(t)}" y2="${y(t)}" stroke="#eef1f6"/><text x="${left - 4}" y="${y(t) + 4}" text-anchor="end">${t}</text>`;
  }
  g.forEach((x, i) => {
    const cx = left + step * i + step / 2, bw = Math.min(44, step * 0.62);
    const pts = x.points ?? 0;
    body += `<rect class="game-bar" x="${cx - bw / 2}" y="${y(pts)}" width="${bw}" height="${Math.max(0.5, y(0) - y(pts))}" fill="${barColor(x.points, x.points_line)}"><title>${esc(x.game_date)} vs ${esc(x.opponent)}: ${x.points ?? "—"} points in ${x.minutes ?? "—"} min, line ${num(x.points_line)}</title></rect>`;
    body += `<text x="${cx}" y="${y(pts) - 4}" text-anchor="middle">${x.points ?? "—"}</text>`;
    if (x.points_line !== null && x.points_line !== undefined) {
      body += `<line x1="${cx - bw / 2 - 4}" x2="${cx + bw / 2 + 4}" y1="${y(x.points_line)}" y2="${y(x.points_line)}" stroke="#111" stroke-width="2.5"/>`;
    }
    body += `<text x="${cx}" y="${h - bottom + 16}" text-anchor="middle">${esc(x.game_date.slice(5))}</text><text x="${cx}" y="${h - bottom + 30}" text-anchor="middle">${esc(x.opponent)}</text>`;
  });
  if (tonightLine !== null && tonightLine !== undefined) {
    body += `<line x1="${left}" x2="${w - right}" y1="${y(tonightLine)}" y2="${y(tonightLine)}" stroke="#2557d6" stroke-dasharray="6 4" stroke-width="1.5"/><text x="${w - right}" y="${y(tonightLine) - 4}" text-anchor="end" fill="#2557d6">tonight ${tonightLine}</text>`;
  }
  body += `<line class="axis" x1="${left}" x2="${w - right}" y1="${y(0)}" y2="${y(0)}"/>`;
  return svg(w, h, body, "chart", "last games against their lines");
}

// Hit rate and its Wilson 95 % interval per system, against the -110 break-even and the coin.
function intervalChart(systems, breakEven) {
  const ids = Object.keys(systems).filter((s) => systems[s].bets > 0);
  const w = chartWidth(), rowH = 30, top = 24, left = w < 500 ? 135 : 170, right = 20, h = top + rowH * ids.length + 30;
  const lo = 0.3, hi = 0.7;
  const x = (v) => left + (w - left - right) * (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo);
  let body = "";
  for (let t = lo; t <= hi + 1e-9; t += 0.1) {
    body += `<line x1="${x(t)}" x2="${x(t)}" y1="${top - 6}" y2="${h - 24}" stroke="#eef1f6"/><text x="${x(t)}" y="${h - 8}" text-anchor="middle">${Math.round(t * 100)}%</text>`;
  }
  body += `<line x1="${x(0.5)}" x2="${x(0.5)}" y1="${top - 6}" y2="${h - 24}" stroke="#9aa4b2" stroke-dasharray="2 3"/>`;
  body += `<line x1="${x(breakEven)}" x2="${x(breakEven)}" y1="${top - 10}" y2="${h - 24}" stroke="#b42318" stroke-dasharray="5 3" stroke-width="1.5"/><text x="${x(breakEven) + 4}" y="${top - 12}" fill="#b42318">break-even ${pct(breakEven)}</text>`;
  ids.forEach((id, i) => {
    const s = systems[id], cy = top + rowH * i + rowH / 2;
    body += `<text x="${left - 8}" y="${cy + 4}" text-anchor="end">${esc(id)}</text>`;
    body += `<line x1="${x(s.wilson_low)}" x2="${x(s.wilson_high)}" y1="${cy}" y2="${cy}" stroke="#1b1f24" stroke-width="2"/>`;
    body += `<circle class="hit-rate" cx="${x(s.hit_rate)}" cy="${cy}" r="5" fill="${s.edge_shown ? "var(--over)" : "#5f6b7a"}"><title>${esc(id)}: ${pct(s.hit_rate)} (${s.hits}/${s.bets}), 95% ${pct(s.wilson_low)}–${pct(s.wilson_high)}</title></circle>`;
  });
  return svg(w, h, body, "chart", "hit rate with 95% Wilson interval");
}

// Cumulative units by date, one line per system.
function cumulativeChart(systems, order) {
  const ids = Object.keys(systems).filter((s) => systems[s].daily.length);
  const allDates = [...new Set(ids.flatMap((s) => systems[s].daily.map((d) => d.game_date)))].sort();
  const values = ids.flatMap((s) => systems[s].daily.map((d) => d.cumulative_units || 0));
  const w = chartWidth(), h = 280, left = 40, right = 14, top = 14, bottom = 40;
  const min = Math.min(0, ...values) - 1, max = Math.max(0, ...values) + 1;
  const x = (d) => left + (w - left - right) * (allDates.length > 1 ? allDates.indexOf(d) / (allDates.length - 1) : 0.5);
  const y = (v) => top + (h - top - bottom) * (1 - (v - min) / (max - min));
  let body = "";
  const stepV = Math.max(1, niceStep(max - min));
  for (let t = Math.ceil(min / stepV) * stepV; t <= max; t += stepV) {
    body += `<line x1="${left}" x2="${w - right}" y1="${y(t)}" y2="${y(t)}" stroke="#eef1f6"/><text x="${left - 4}" y="${y(t) + 4}" text-anchor="end">${t}</text>`;
  }
  body += `<line class="axis" x1="${left}" x2="${w - right}" y1="${y(0)}" y2="${y(0)}" stroke-width="1.5"/>`;
  const labelEvery = Math.max(1, Math.ceil(allDates.length / (w < 500 ? 4 : 6)));
  allDates.forEach((d, i) => {
    if (i % labelEvery === 0 || i === allDates.length - 1) body += `<text x="${x(d)}" y="${h - bottom + 16}" text-anchor="middle">${esc(d.slice(5))}</text>`;
  });
  ids.forEach((id) => {
    const pts = systems[id].daily.map((d) => `${x(d.game_date).toFixed(1)},${y(d.cumulative_units || 0).toFixed(1)}`).join(" ");
    body += `<polyline class="units-line" points="${pts}" fill="none" stroke="${systemColor(order, id)}" stroke-width="2"><title>${esc(id)}: ${num(systems[id].units, 2)} units</title></polyline>`;
  });
  const legend = ids.map((id) => `<span><i style="background:${systemColor(order, id)}"></i>${esc(id)} ${signed(systems[id].units, 2)}</span>`).join("");
  return svg(w, h, body, "chart", "cumulative units") + `<div class="legend">${legend}</div>`;
}

// Calibration: mean P(over) of each bin against the observed over rate; the diagonal is perfect.
function calibrationChart(bins, color) {
  const w = 360, h = 340, left = 40, right = 14, top = 14, bottom = 40;
  const x = (v) => left + (w - left - right) * v, y = (v) => top + (h - top - bottom) * (1 - v);
  let body = "";
  for (let t = 0; t <= 1.0001; t += 0.2) {
    body += `<line x1="${x(t)}" x2="${x(t)}" y1="${y(0)}" y2="${y(1)}" stroke="#eef1f6"/><line x1="${x(0)}" x2="${x(1)}" y1="${y(t)}" y2="${y(t)}" stroke="#eef1f6"/>`;
    body += `<text x="${x(t)}" y="${h - bottom + 14}" text-anchor="middle">${Math.round(t * 100)}%</text><text x="${left - 4}" y="${y(t) + 4}" text-anchor="end">${Math.round(t * 100)}%</text>`;
  }
  body += `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#9aa4b2" stroke-dasharray="4 3"/>`;
  body += `<text x="${(x(0) + x(1)) / 2}" y="${h - 6}" text-anchor="middle">predicted P(over)</text>`;
  body += `<text transform="translate(11 ${(y(0) + y(1)) / 2}) rotate(-90)" text-anchor="middle">went over</text>`;
  const maxN = Math.max(1, ...bins.map((b) => b.n));
  const pts = bins.filter((b) => b.mean_p_over !== null && b.observed_over_rate !== null);
  body += `<polyline points="${pts.map((b) => `${x(b.mean_p_over)},${y(b.observed_over_rate)}`).join(" ")}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  pts.forEach((b) => {
    body += `<circle class="calibration-point" cx="${x(b.mean_p_over)}" cy="${y(b.observed_over_rate)}" r="${(3 + 9 * Math.sqrt(b.n / maxN)).toFixed(1)}" fill="${color}" fill-opacity="0.55" stroke="${color}"><title>P(over) ${pct(b.bin_low, 0)}–${pct(b.bin_high, 0)}: predicted ${pct(b.mean_p_over)}, went over ${pct(b.observed_over_rate)} of ${b.n}</title></circle>`;
  });
  return svg(w, h, body, "chart", "calibration of P(over)");
}

// Units of the day per system (bars above / below zero).
function unitsBars(systems, order) {
  const ids = Object.keys(systems);
  const w = chartWidth(), rowH = 26, left = w < 500 ? 135 : 170, right = 50, top = 8, h = top + rowH * ids.length + 8;
  const vals = ids.map((s) => systems[s].units || 0);
  const lim = Math.max(1, ...vals.map(Math.abs));
  const zero = left + (w - left - right) / 2, scale = (w - left - right) / 2 / lim;
  let body = `<line class="axis" x1="${zero}" x2="${zero}" y1="${top}" y2="${h - 8}"/>`;
  ids.forEach((id, i) => {
    const v = systems[id].units || 0, cy = top + rowH * i;
    const x0 = v >= 0 ? zero : zero + v * scale;
    body += `<text x="${left - 8}" y="${cy + 16}" text-anchor="end">${esc(id)}</text>`;
    body += `<rect class="units-bar" x="${x0}" y="${cy + 5}" width="${Math.max(1, Math.abs(v) * scale)}" height="${rowH - 10}" fill="${v >= 0 ? "var(--over)" : "var(--under)"}"><title>${esc(id)}: ${signed(v, 2)} units</title></rect>`;
    body += `<text x="${v >= 0 ? zero + v * scale + 4 : zero + 4}" y="${cy + 16}">${signed(v, 2)}</text>`;
  });
  return svg(w, h, body, "chart", "units of the day per system");
}

// ------------------------------------------------------------------------------ tonight / a day

const CALL_ORDER = { OVER: 0, UNDER: 1, PASS: 2, NO_LINE: 3 };

// Exports written before the hit rates and defense ranks existed show dashes, not an error.
const NO_HIT_RATES = Object.fromEntries(["last_5", "last_10", "last_20", "season"].map((k) => [k, { games: 0, over: 0, under: 0, push: 0, over_rate: null }]));
const NO_DEFENSE = { rank: null, teams: null, points_allowed_per_game: null, games: 0 };
function withDefaults(p) {
  return { ...p, hit_rates: p.hit_rates || NO_HIT_RATES, opponent_defense: p.opponent_defense || NO_DEFENSE, rest: p.rest || {} };
}

function flattenPlayers(doc) {
  const out = [];
  for (const game of doc.games) {
    for (const p of game.players) out.push({ ...withDefaults(p), game });
  }
  return out;
}

function hitCell(w) {
  if (!w || !w.games) return '<span class="muted">—</span>';
  return `<span title="over ${w.over}, under ${w.under}, push ${w.push} of ${w.games}">${w.over}/${w.games} <span class="muted small">${pct(w.over_rate, 0)}</span></span>`;
}

function priceCell(p) {
  if (p.points_line === null) return '<span class="muted">—</span>';
  if (p.best_over_price === null && p.best_under_price === null) {
    const dfs = String(p.line_source || "").toLowerCase().split(",").some((b) => DFS_SOURCES.has(b.trim()));
    return `<span class="muted small">${dfs ? "DFS line: no price" : "no price quoted"}</span>`;
  }
  return `<span class="small">O ${price(p.best_over_price)} ${esc(p.best_over_book || "")}<br>U ${price(p.best_under_price)} ${esc(p.best_under_book || "")}</span>`;
}

function callCell(p) {
  if (p.recommendation === "PASS") return `${badge("PASS")} <span class="noedge">no edge</span>`;
  if (p.recommendation === "NO_LINE") return `${badge("NO_LINE")} <span class="noedge">no line</span>`;
  return badge(p.recommendation);
}

const TONIGHT_COLUMNS = [
  ["player", "Player", (p) => p.name || p.player_lookup],
  ["team", "Team", (p) => p.team],
  ["line", "Line", (p) => p.points_line],
  ["price", "Best price", null],
  ["pred", "Pred", (p) => p.predicted_points],
  ["edge", "Edge", (p) => p.edge],
  ["p_over", "P(over)", (p) => p.p_over],
  ["call", "Call", (p) => CALL_ORDER[p.recommendation]],
  ["conf", "Conf", (p) => p.confidence],
  ["l5", "L5", (p) => p.hit_rates.last_5.over_rate],
  ["l10", "L10", (p) => p.hit_rates.last_10.over_rate],
  ["l20", "L20", (p) => p.hit_rates.last_20.over_rate],
  ["season", "Season", (p) => p.hit_rates.season.over_rate],
  ["last", "Last 10 vs line", null],
  ["rest", "Rest", (p) => p.rest.days_rest],
  ["opp_d", "Opp D rank", (p) => p.opponent_defense.rank],
];

function renderRows(players, playerHref) {
  return players.map((p) => {
    const r = p.rest || {};
    const d = p.opponent_defense || {};
    const cells = {
      player: `<a class="player-link" href="${playerHref(p)}">${esc(p.name || p.player_lookup)}</a>`,
      team: `${esc(p.team)} <span class="muted">${p.team === p.game.home_team ? "vs" : "@"} ${esc(p.opponent)}</span>`,
      line: p.points_line === null ? '<span class="muted">no line</span>' : `${num(p.points_line)}<br><span class="muted small">${esc(String(p.line_source || "").replace(/,/g, ", "))}</span>`,
      price: priceCell(p),
      pred: num(p.predicted_points),
      edge: signed(p.edge),
      p_over: pct(p.p_over, 0),
      call: callCell(p),
      conf: num(p.confidence, 0),
      l5: hitCell(p.hit_rates.last_5),
      l10: hitCell(p.hit_rates.last_10),
      l20: hitCell(p.hit_rates.last_20),
      season: hitCell(p.hit_rates.season),
      last: sparkline(p.last_10_games, p.points_line),
      rest: `${r.days_rest ?? "—"}d${r.is_back_to_back ? ' <span class="b2b" title="back-to-back">B2B</span>' : ""}`,
      opp_d: d.rank ? `#${d.rank}<span class="muted small">/${d.teams} · ${num(d.points_allowed_per_game)}</span>` : '<span class="muted">—</span>',
    };
    const numeric = new Set(["line", "pred", "edge", "p_over", "conf"]);
    return `<tr data-player="${esc(p.player_lookup)}" data-call="${esc(p.recommendation)}">` +
      TONIGHT_COLUMNS.map(([key, label]) => `<td data-label="${esc(label)}" class="${numeric.has(key) ? "num" : ""} col-${key}">${cells[key]}</td>`).join("") +
      "</tr>";
  }).join("");
}

async function renderDay(date) {
  setActive("tonight");
  const index = await dates();
  // The index says whether tonight's file exists (null with a base URL: then just try it).
  const doc = date ? await getJSON(`/v1/predictions/${date}.json`)
    : index.tonight === false ? null : await getJSON("/v1/tonight/all-players.json");
  const isTonight = !date;
  const hrefDay = (d) => `#/day/${d}`;
  if (!doc) {
    app.innerHTML = `<h1>${isTonight ? "Tonight" : esc(date)}</h1>` +
      notice(isTonight ? "No tonight export yet (<code>tonight/all-players.json</code> is missing). Pick a date below." : `No predictions export for ${esc(date)}.`) +
      dateLinks(index.predictions, date, hrefDay, "Dates with predictions", true);
    return;
  }
  const all = flattenPlayers(doc);
  const lined = all.filter((p) => p.points_line !== null);
  const state = { team: "", call: "", minEdge: 0, search: "", showUnlined: false, sort: "call", dir: 1 };
  const teams = [...new Set(all.map((p) => p.team))].sort();
  const playerHref = (p) => (isTonight ? `#/player/${encodeURIComponent(p.player_lookup)}` : `#/player/${encodeURIComponent(p.player_lookup)}/${doc.game_date}`);
  const anyPrice = lined.some((p) => p.best_over_price !== null || p.best_under_price !== null);
  const calls = lined.reduce((acc, p) => ((acc[p.recommendation] = (acc[p.recommendation] || 0) + 1), acc), {});
  const headline = [...new Set(all.map((p) => p.headline_system))].join(", ");
  const gamesHtml = doc.games.map((g) => `<span>${esc(g.away_team)} @ ${esc(g.home_team)} · ${esc(tipoff(g.tipoff_utc))} · ${g.players.filter((p) => p.points_line !== null).length} lined</span>`).join("");
  app.innerHTML = `
    <h1>${isTonight ? "Tonight" : "Game date"}: ${esc(doc.game_date)}</h1>
    <p class="muted small">Exported ${esc(doc.generated_at)} · headline system: ${esc(headline || "—")} · systems: ${doc.systems.map(esc).join(", ")}</p>
    ${doc.games.length ? `<div class="games">${gamesHtml}</div>` : ""}
    ${!lined.length ? notice(`No lined players on ${esc(doc.game_date)}${doc.games.length ? "" : " (no games)"}. Pick another date below.`) : ""}
    ${lined.length && !anyPrice ? notice("These are DFS lines (PrizePicks / Underdog): they carry no prices, so there is no best price or book to show, and units are counted at −110.") : ""}
    <div class="grid">
      <div class="stat"><div class="k">Games</div><div class="v">${doc.games.length}</div></div>
      <div class="stat"><div class="k">Lined players</div><div class="v">${lined.length}</div></div>
      <div class="stat"><div class="k">OVER calls</div><div class="v">${calls.OVER || 0}</div></div>
      <div class="stat"><div class="k">UNDER calls</div><div class="v">${calls.UNDER || 0}</div></div>
      <div class="stat"><div class="k">PASS (no edge)</div><div class="v">${calls.PASS || 0}</div></div>
    </div>
    <div class="filters" id="filters">
      <label>Team<select id="f-team"><option value="">All teams</option>${teams.map((t) => `<option>${esc(t)}</option>`).join("")}</select></label>
      <label>Call<select id="f-call"><option value="">All calls</option><option>OVER</option><option>UNDER</option><option value="PASS">PASS (no edge)</option></select></label>
      <label>Min |edge|<input id="f-edge" type="number" min="0" step="0.5" value="0" inputmode="decimal"></label>
      <label>Player<input id="f-search" type="search" placeholder="name"></label>
      <label>Sort<select id="f-sort">${TONIGHT_COLUMNS.filter((c) => c[2]).map(([k, l]) => `<option value="${k}">${esc(l)}</option>`).join("")}</select></label>
      <label class="check"><input id="f-unlined" type="checkbox"> players without a line</label>
    </div>
    <div class="count" id="count"></div>
    <div class="scroll"><table class="cards" id="tonight-table">
      <thead><tr>${TONIGHT_COLUMNS.map(([k, l, f]) => `<th data-key="${k}" class="${f ? "sortable" : ""}">${esc(l)}</th>`).join("")}</tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="muted small">L5/L10/L20/Season: games over tonight's line / games played, before this date. Opp D rank: the opponent's points allowed per game this season before this date (#1 allows the fewest). Bars: his last 10 games, green over that game's line, red under; dashed: tonight's line.</p>
    ${dateLinks(index.predictions, isTonight ? null : doc.game_date, hrefDay, "Other dates", !lined.length)}`;
  document.getElementById("f-sort").value = state.sort;
  const draw = () => {
    const column = TONIGHT_COLUMNS.find((c) => c[0] === state.sort);
    let rows = (state.showUnlined ? all : lined).filter((p) =>
      (!state.team || p.team === state.team) &&
      (!state.call || p.recommendation === state.call) &&
      (!state.minEdge || (p.edge !== null && Math.abs(p.edge) >= state.minEdge)) &&
      (!state.search || String(p.name || p.player_lookup).toLowerCase().includes(state.search)));
    rows = rows.sort((a, b) => {
      const va = column[2](a), vb = column[2](b);
      if (va === vb) return String(a.name).localeCompare(String(b.name));
      if (va === null || va === undefined) return 1;
      if (vb === null || vb === undefined) return -1;
      return (va < vb ? -1 : 1) * state.dir;
    });
    document.querySelector("#tonight-table tbody").innerHTML = rows.length ? renderRows(rows, playerHref)
      : `<tr><td colspan="${TONIGHT_COLUMNS.length}" class="muted">No player matches these filters.</td></tr>`;
    document.getElementById("count").textContent = `Showing ${rows.length} of ${(state.showUnlined ? all : lined).length} ${state.showUnlined ? "players" : "lined players"}`;
    document.querySelectorAll("#tonight-table th").forEach((th) => {
      th.classList.toggle("sorted-asc", th.dataset.key === state.sort && state.dir === 1);
      th.classList.toggle("sorted-desc", th.dataset.key === state.sort && state.dir === -1);
    });
  };
  document.getElementById("f-team").onchange = (e) => { state.team = e.target.value; draw(); };
  document.getElementById("f-call").onchange = (e) => { state.call = e.target.value; draw(); };
  document.getElementById("f-edge").oninput = (e) => { state.minEdge = Number(e.target.value) || 0; draw(); };
  document.getElementById("f-search").oninput = (e) => { state.search = e.target.value.trim().toLowerCase(); draw(); };
  document.getElementById("f-unlined").onchange = (e) => { state.showUnlined = e.target.checked; draw(); };
  document.getElementById("f-sort").onchange = (e) => { state.sort = e.target.value; state.dir = 1; draw(); };
  document.querySelectorAll("#tonight-table th.sortable").forEach((th) => {
    th.onclick = () => {
      state.dir = state.sort === th.dataset.key ? -state.dir : 1;
      state.sort = th.dataset.key;
      document.getElementById("f-sort").value = state.sort;
      draw();
    };
  });
  draw();
}

// ------------------------------------------------------------------------------ player

async function renderPlayer(lookup, date) {
  setActive("tonight");
  let player, game, gameDate, pastCalls = null;
  if (date) {
    const doc = await getJSON(`/v1/predictions/${date}.json`);
    for (const g of doc ? doc.games : []) {
      const p = g.players.find((x) => x.player_lookup === lookup);
      if (p) { player = withDefaults(p); game = g; }
    }
    gameDate = date;
  } else {
    const doc = await getJSON(`/v1/tonight/player/${encodeURIComponent(lookup)}.json`);
    if (doc) { player = withDefaults(doc.player); game = doc.game; gameDate = doc.game_date; pastCalls = doc.past_calls ?? null; }
  }
  if (!player) {
    app.innerHTML = `<h1>${esc(lookup)}</h1>` + notice(`No export for this player ${date ? "on " + esc(date) : "tonight"}.`) + '<p><a href="#/">Back to tonight</a></p>';
    return;
  }
  const hr = player.hit_rates, d = player.opponent_defense, r = player.rest;
  const systems = Object.entries(player.predictions).sort();
  const home = player.team === game.home_team;
  app.innerHTML = `
    <p><a href="${date ? `#/day/${date}` : "#/"}">← ${date ? esc(date) : "Tonight"}</a></p>
    <h1 id="player-name">${esc(player.name || player.player_lookup)}</h1>
    <p class="muted">${esc(player.team)} ${home ? "vs" : "@"} ${esc(player.opponent)} · ${esc(gameDate)} · ${esc(tipoff(game.tipoff_utc))}</p>
    <div class="grid">
      <div class="stat"><div class="k">Line</div><div class="v">${player.points_line === null ? "no line" : num(player.points_line)}</div><div class="small muted">${esc(player.line_source || "")}</div></div>
      <div class="stat"><div class="k">Call (${esc(player.headline_system)})</div><div class="v">${callCell(player)}</div><div class="small muted">P(over) ${pct(player.p_over, 0)} · conf ${num(player.confidence, 0)}</div></div>
      <div class="stat"><div class="k">Prediction</div><div class="v">${num(player.predicted_points)}</div><div class="small muted">edge ${signed(player.edge)}</div></div>
      <div class="stat"><div class="k">Best price</div><div class="v small">${priceCell(player)}</div></div>
      <div class="stat"><div class="k">Rest</div><div class="v">${r.days_rest ?? "—"} d ${r.is_back_to_back ? '<span class="b2b">B2B</span>' : ""}</div><div class="small muted">${r.games_in_last_7_days ?? "—"} games / ${r.minutes_in_last_7_days ?? "—"} min in 7 days</div></div>
      <div class="stat"><div class="k">${esc(player.opponent)} defense</div><div class="v">${d.rank ? `#${d.rank} of ${d.teams}` : "—"}</div><div class="small muted">${num(d.points_allowed_per_game)} pts allowed / game (${d.games} games)</div></div>
    </div>
    <h2>Over tonight's line</h2>
    <div class="grid">${["last_5", "last_10", "last_20", "season"].map((k) => `<div class="stat"><div class="k">${k.replace("_", " ")}</div><div class="v">${hr[k].games ? `${hr[k].over}/${hr[k].games}` : "—"}</div><div class="small muted">${pct(hr[k].over_rate, 0)} · ${hr[k].under} under · ${hr[k].push} push</div></div>`).join("")}</div>
    <h2>Last ${player.last_10_games.length} games against their lines</h2>
    ${player.last_10_games.length ? lastGamesChart(player.last_10_games, player.points_line) : notice("No earlier games in the export.")}
    <div class="legend"><span><i style="background:var(--over)"></i>over that game's line</span><span><i style="background:var(--under)"></i>under</span><span><i style="background:#9aa4b2"></i>no line that game</span><span><i style="background:#111;height:3px"></i>that game's line</span><span><i style="background:#2557d6;height:3px"></i>tonight's line</span></div>
    <h2>Every system tonight</h2>
    <table class="cards" id="systems-table"><thead><tr><th>System</th><th class="num">Pred</th><th class="num">Edge</th><th class="num">P(over)</th><th>Call</th><th class="num">Conf</th></tr></thead><tbody>
    ${systems.map(([id, s]) => `<tr><td data-label="System">${esc(id)}${id === player.headline_system ? ' <span class="muted small">(headline)</span>' : ""}</td><td data-label="Pred" class="num">${num(s.predicted_points)}</td><td data-label="Edge" class="num">${signed(s.edge)}</td><td data-label="P(over)" class="num">${pct(s.p_over, 0)}</td><td data-label="Call">${callCell(s)}</td><td data-label="Conf" class="num">${num(s.confidence, 0)}</td></tr>`).join("")}
    </tbody></table>
    <h2>Past calls on him</h2>
    ${pastCalls === null ? '<p class="muted">Past calls are exported with tonight\'s player files only.</p>'
      : pastCalls.length ? `<table class="cards" id="past-calls"><thead><tr><th>Date</th><th>System</th><th class="num">Line</th><th class="num">Pred</th><th>Call</th><th class="num">Scored</th><th>Result</th><th class="num">Units</th></tr></thead><tbody>
      ${pastCalls.map((c) => `<tr><td data-label="Date"><a href="#/results/${c.game_date}">${esc(c.game_date)}</a></td><td data-label="System">${esc(c.system_id)}</td><td data-label="Line" class="num">${num(c.points_line)}</td><td data-label="Pred" class="num">${num(c.predicted_points)}</td><td data-label="Call">${badge(c.recommendation)}</td><td data-label="Scored" class="num">${c.actual_points ?? "—"}</td><td data-label="Result">${badge(c.grade)}</td><td data-label="Units" class="num">${signed(c.units, 2)}</td></tr>`).join("")}
      </tbody></table>` : '<p class="muted">No graded OVER/UNDER calls on him before this date.</p>'}`;
}

// ------------------------------------------------------------------------------ results

async function renderResults(date) {
  setActive("results");
  const index = await dates();
  const day = date || index.results[0];
  const doc = day ? await getJSON(`/v1/results/${day}.json`) : null;
  const hrefResults = (d) => `#/results/${d}`;
  if (!doc) {
    app.innerHTML = "<h1>Results</h1>" + notice(day ? `No results export for ${esc(day)}.` : "No results exported yet.") + dateLinks(index.results, day, hrefResults, "Dates with results", true);
    return;
  }
  const order = Object.keys(doc.systems).sort();
  const state = { system: "", calls: true, grade: "" };
  app.innerHTML = `
    <h1>Results: ${esc(doc.game_date)}</h1>
    <p class="muted small">Exported ${esc(doc.generated_at)} · units of a 1-unit bet at the called side's best price, at −110 where the books gave none.</p>
    <table class="cards" id="day-systems"><thead><tr><th>System</th><th class="num">Graded</th><th class="num">MAE</th><th class="num">Bets</th><th class="num">Hits</th><th class="num">Hit rate</th><th class="num">Pushes</th><th class="num">Units</th><th class="num">Brier</th></tr></thead><tbody>
    ${order.map((id) => { const s = doc.systems[id]; return `<tr><td data-label="System">${esc(id)}</td><td data-label="Graded" class="num">${s.graded ?? "—"}</td><td data-label="MAE" class="num">${num(s.mae, 2)}</td><td data-label="Bets" class="num">${s.bets ?? 0}</td><td data-label="Hits" class="num">${s.hits ?? 0}</td><td data-label="Hit rate" class="num">${pct(s.hit_rate)}</td><td data-label="Pushes" class="num">${s.pushes ?? 0}</td><td data-label="Units" class="num ${s.units > 0 ? "pos" : s.units < 0 ? "neg" : ""}">${signed(s.units, 2)}</td><td data-label="Brier" class="num">${num(s.brier, 3)}</td></tr>`; }).join("")}
    </tbody></table>
    <p class="muted small">One day is far too few bets to tell skill from luck: see the <a href="#/track">track record</a>.</p>
    <h2>Units of the day</h2>
    ${unitsBars(doc.systems, order)}
    <h2>Every graded prediction</h2>
    <div class="filters">
      <label>System<select id="r-system"><option value="">All systems</option>${order.map((s) => `<option>${esc(s)}</option>`).join("")}</select></label>
      <label>Result<select id="r-grade"><option value="">Any</option><option>correct</option><option>incorrect</option><option>push</option><option>void</option><option>no_bet</option></select></label>
      <label class="check"><input id="r-calls" type="checkbox" checked> OVER/UNDER calls only</label>
    </div>
    <div class="count" id="r-count"></div>
    <table class="cards" id="results-table"><thead><tr><th>Player</th><th>Team</th><th>System</th><th class="num">Line</th><th class="num">Pred</th><th>Call</th><th class="num">P(over)</th><th class="num">Scored</th><th>Result</th><th class="num">Units</th></tr></thead><tbody></tbody></table>
    ${dateLinks(index.results, doc.game_date, hrefResults, "Other dates")}`;
  const draw = () => {
    const rows = doc.results.filter((r) =>
      (!state.system || r.system_id === state.system) && (!state.grade || r.grade === state.grade) &&
      (!state.calls || r.recommendation === "OVER" || r.recommendation === "UNDER"));
    document.querySelector("#results-table tbody").innerHTML = rows.length ? rows.map((r) => `<tr><td data-label="Player"><a href="#/player/${encodeURIComponent(r.player_lookup)}/${doc.game_date}">${esc(r.name || r.player_lookup)}</a></td><td data-label="Team">${esc(r.team || "")} <span class="muted">${r.opponent ? "v " + esc(r.opponent) : ""}</span></td><td data-label="System">${esc(r.system_id)}</td><td data-label="Line" class="num">${num(r.points_line)}</td><td data-label="Pred" class="num">${num(r.predicted_points)}</td><td data-label="Call">${badge(r.recommendation)}</td><td data-label="P(over)" class="num">${pct(r.p_over, 0)}</td><td data-label="Scored" class="num">${r.played ? r.actual_points : '<span class="muted">DNP</span>'}</td><td data-label="Result">${badge(r.grade)}</td><td data-label="Units" class="num">${signed(r.units, 2)}</td></tr>`).join("")
      : '<tr><td colspan="10" class="muted">No prediction matches these filters.</td></tr>';
    document.getElementById("r-count").textContent = `Showing ${rows.length} of ${doc.results.length} graded predictions`;
  };
  document.getElementById("r-system").onchange = (e) => { state.system = e.target.value; draw(); };
  document.getElementById("r-grade").onchange = (e) => { state.grade = e.target.value; draw(); };
  document.getElementById("r-calls").onchange = (e) => { state.calls = e.target.checked; draw(); };
  draw();
}

// ------------------------------------------------------------------------------ track record

async function renderTrack() {
  setActive("track");
  // The track record is season-wide: systems/performance.json, as of the latest graded day.
  const doc = await getJSON("/v1/systems/performance.json");
  if (!doc) {
    app.innerHTML = "<h1>Track record</h1>" + notice("No track record exported yet: it comes with <code>systems/performance.json</code> once a day is graded.");
    return;
  }
  const t = doc.track_record;
  if (!t) {
    app.innerHTML = "<h1>Track record</h1>" + notice("<code>systems/performance.json</code> has no track record: it was exported by an older version of the pipeline; materialize <code>exports/systems_performance_json</code> again.");
    return;
  }
  const systems = t.systems, order = Object.keys(systems).sort();
  const shown = order.filter((s) => systems[s].edge_shown);
  const anyPrice = order.some((s) => systems[s].bets_at_minus_110 < systems[s].bets);
  app.innerHTML = `
    <h1>Track record: ${esc(t.from)} – ${esc(t.through)}</h1>
    <p class="muted small">From <code>systems/performance.json</code> (as of ${esc(doc.as_of)}): every graded OVER/UNDER call of the season through ${esc(t.through)}. Break-even at −110: ${pct(t.break_even_hit_rate)}.</p>
    ${shown.length ? notice(`The 95% interval's lower end is above the ${pct(t.break_even_hit_rate)} break-even for: ${shown.map(esc).join(", ")}.`)
      : notice(`<strong>No edge is shown.</strong> For every system the 95% interval of the hit rate reaches down to or below the ${pct(t.break_even_hit_rate)} break-even at −110: nothing here is distinguishable from no skill.`)}
    ${anyPrice ? "" : `<p class="muted small">The lines carry no prices (DFS), so every unit is counted at −110.</p>`}
    <table class="cards" id="track-table"><thead><tr><th>System</th><th class="num">Bets</th><th class="num">Hits</th><th class="num">Hit rate</th><th class="num">Wilson 95%</th><th>vs 52.4%</th><th class="num">Units</th><th class="num">ROI</th></tr></thead><tbody>
    ${order.map((id) => { const s = systems[id]; return `<tr><td data-label="System">${esc(id)}</td><td data-label="Bets" class="num">${s.bets}</td><td data-label="Hits" class="num">${s.hits}</td><td data-label="Hit rate" class="num">${pct(s.hit_rate)}</td><td data-label="Wilson 95%" class="num">${s.bets ? `${pct(s.wilson_low)}–${pct(s.wilson_high)}` : "—"}</td><td data-label="vs 52.4%">${!s.bets ? '<span class="muted">no bets</span>' : s.edge_shown ? '<span class="pos">above break-even</span>' : '<span class="noedge">no edge shown</span>'}</td><td data-label="Units" class="num ${s.units > 0 ? "pos" : s.units < 0 ? "neg" : ""}">${signed(s.units, 2)}</td><td data-label="ROI" class="num">${pct(s.roi)}</td></tr>`; }).join("")}
    </tbody></table>
    <h2>Hit rate and 95% interval</h2>
    ${intervalChart(systems, t.break_even_hit_rate)}
    <h2>Cumulative units</h2>
    ${cumulativeChart(systems, order)}
    <h2>Calibration of P(over)</h2>
    <div class="filters"><label>System<select id="c-system">${order.map((s) => `<option>${esc(s)}</option>`).join("")}</select></label></div>
    <div class="two"><div id="calibration"></div><div id="calibration-table"></div></div>
    <p class="muted small">Predictions with a line whose player played (pushes left out), in P(over) bins of 10 points: a calibrated system sits on the diagonal. Circle size: predictions in the bin.</p>`;
  const select = document.getElementById("c-system");
  const withBins = order.find((s) => systems[s].calibration.length);
  if (withBins) select.value = withBins;
  const draw = () => {
    const bins = systems[select.value].calibration;
    document.getElementById("calibration").innerHTML = bins.length ? calibrationChart(bins, systemColor(order, select.value)) : notice("This system has no P(over) to calibrate.");
    document.getElementById("calibration-table").innerHTML = bins.length ? `<table class="cards"><thead><tr><th>P(over) bin</th><th class="num">n</th><th class="num">Predicted</th><th class="num">Went over</th></tr></thead><tbody>${bins.map((b) => `<tr><td data-label="P(over) bin">${pct(b.bin_low, 0)}–${pct(b.bin_high, 0)}</td><td data-label="n" class="num">${b.n}</td><td data-label="Predicted" class="num">${pct(b.mean_p_over)}</td><td data-label="Went over" class="num">${pct(b.observed_over_rate)}</td></tr>`).join("")}</tbody></table>` : "";
  };
  select.onchange = draw;
  draw();
}

// ------------------------------------------------------------------------------ live

const LIVE_STATES = ["pending", "on_track", "hit", "missed", "push", "void"];
const LIVE_REFRESH_MS = 60_000;
let liveTimer = null;

// The live documents change during games: always fetched anew (never from the page's cache).
async function getFresh(path) {
  const response = await fetch(path, { cache: "no-store" });
  return response.ok ? response.json() : null;
}

function gameStatusText(g) {
  if (g.status === "scheduled") return `${esc(g.status_text || "scheduled")} · tip-off ${esc(tipoff(g.tipoff_utc))}`;
  if (g.status === "in_progress") {
    const where = g.period ? `Q${g.period}${g.clock ? " " + esc(g.clock) : ""}` : "no period or clock in the feed yet";
    return `in progress · ${where}`;
  }
  return `final${g.period && g.period > 4 ? ` (${g.period - 4 === 1 ? "OT" : g.period - 4 + "OT"})` : ""}`;
}

function scoreText(g) {
  if (g.home_score === null || g.away_score === null) return '<span class="muted">—</span>';
  return `${g.away_score} – ${g.home_score}`;
}

function liveBadge(status) {
  return `<span class="badge ${esc(status)}">${esc(String(status).replace("_", " "))}</span>`;
}
// A line as quoted: 8.25 stays 8.25, 10 shows 10.0.
function lineText(line) {
  return line === null || line === undefined ? "—" : Number.isInteger(line * 10) ? line.toFixed(1) : String(line);
}

// Points so far against the line: the bar fills to the points (green while on the call's side of
// the line, red when not), the tick is the line.
function progressBar(points, line, call) {
  const w = 120, h = 14, max = Math.max(line * 1.6, points || 0, 1);
  const x = (v) => (w - 2) * (v / max) + 1;
  let body = `<rect x="1" y="3" width="${w - 2}" height="${h - 6}" fill="#eef1f6" rx="2"/>`;
  if (points !== null && points !== undefined) {
    body += `<rect class="progress-fill" x="1" y="3" width="${Math.max(0.5, x(points) - 1).toFixed(1)}" height="${h - 6}" fill="${(call === "OVER" ? points > line : points < line) ? "var(--over)" : "var(--under)"}" rx="2"><title>${points} points, line ${line}</title></rect>`;
  }
  body += `<line x1="${x(line).toFixed(1)}" x2="${x(line).toFixed(1)}" y1="0" y2="${h}" stroke="#111" stroke-width="2"/>`;
  return svg(w, h, body, "progress", `points so far against the line ${line}`);
}

async function renderLive(date) {
  setActive("live");
  if (liveTimer) { clearTimeout(liveTimer); liveTimer = null; }
  const index = await dates();
  const day = date || (index.live || [])[0];
  const hrefLive = (d) => `#/live/${d}`;
  if (!day) {
    app.innerHTML = "<h1>Live</h1>" + notice("No live export yet: <code>live/{date}.json</code> is written while games are on (every 3 minutes from the first tip-off to 02:00 ET).");
    return;
  }
  const [live, grading] = await Promise.all([getFresh(`/v1/live/${day}.json`), getFresh(`/v1/live-grading/${day}.json`)]);
  if (!live || !grading) {
    app.innerHTML = `<h1>Live: ${esc(day)}</h1>` + notice(`No live export for ${esc(day)}.`) + dateLinks(index.live || [], day, hrefLive, "Dates with a live export", true);
    return;
  }
  const state = { status: "", system: "" };
  const systems = [...new Set(grading.calls.map((c) => c.system_id))].sort();
  const byStatus = live.games_by_status;
  const noNumbers = live.games.some((g) => g.status === "in_progress" && g.home_score === null);
  const gamesHtml = live.games.map((g) => {
    const lined = g.players.length, scored = g.players.filter((p) => p.points !== null).length;
    return `<div class="card live-game" data-game="${esc(g.game_id)}" data-status="${esc(g.status)}">
      <div class="live-head"><strong>${esc(g.away_team)} @ ${esc(g.home_team)}</strong> ${liveBadge(g.status)}</div>
      <div class="live-score">${scoreText(g)}</div>
      <div class="small muted">${gameStatusText(g)}</div>
      <div class="small muted">${lined} lined players${g.status !== "scheduled" ? ` · ${scored} with points` : ""}</div>
    </div>`;
  }).join("");
  app.innerHTML = `
    <h1>Live: ${esc(live.game_date)}</h1>
    <p class="muted small">Feeds fetched ${esc((live.fetched_at || "—").replace("T", " ").slice(0, 19))} UTC · exported ${esc(live.generated_at.replace("T", " ").slice(0, 19))} UTC · ${byStatus.final} final, ${byStatus.in_progress} in progress, ${byStatus.scheduled} scheduled</p>
    ${noNumbers ? notice("A game in progress shows no score, period or player points until the feeds give them: none are made up here.") : ""}
    ${live.games.length ? `<div class="live-games">${gamesHtml}</div>` : notice("No games on this date.")}
    <div class="grid">${LIVE_STATES.map((s) => `<div class="stat"><div class="k">${esc(s.replace("_", " "))}</div><div class="v" data-count="${s}">${grading.counts[s]}</div></div>`).join("")}</div>
    <h2>Calls</h2>
    <div class="filters">
      <label>Status<select id="l-status"><option value="">Any</option>${LIVE_STATES.map((s) => `<option>${s}</option>`).join("")}</select></label>
      <label>System<select id="l-system"><option value="">All systems</option>${systems.map((s) => `<option>${esc(s)}</option>`).join("")}</select></label>
    </div>
    <div class="count" id="l-count"></div>
    <table class="cards" id="live-calls"><thead><tr><th>Player</th><th>Team</th><th>System</th><th>Call</th><th class="num">Line</th><th class="num">Points</th><th>Progress</th><th>Status</th></tr></thead><tbody></tbody></table>
    <p class="muted small">pending: not started or no numbers yet · on track: points in, not decided · hit / missed / push / void: as the grading will say (void: not in the final box score). Bar: points so far (green on the call's side of the line, red not), tick: the line.</p>
    ${dateLinks(index.live || [], live.game_date, hrefLive, "Other dates")}`;
  const draw = () => {
    const rows = grading.calls.filter((c) => (!state.status || c.status === state.status) && (!state.system || c.system_id === state.system));
    document.querySelector("#live-calls tbody").innerHTML = rows.length ? rows.map((c) => `<tr data-player="${esc(c.player_lookup)}" data-status="${esc(c.status)}"><td data-label="Player"><a href="#/player/${encodeURIComponent(c.player_lookup)}/${live.game_date}">${esc(c.name || c.player_lookup)}</a></td><td data-label="Team">${esc(c.team)} <span class="muted">v ${esc(c.opponent || "")}</span></td><td data-label="System">${esc(c.system_id)}</td><td data-label="Call">${badge(c.recommendation)}</td><td data-label="Line" class="num">${lineText(c.points_line)}</td><td data-label="Points" class="num">${c.points ?? "—"}</td><td data-label="Progress">${progressBar(c.points, c.points_line, c.recommendation)}</td><td data-label="Status">${liveBadge(c.status)}</td></tr>`).join("")
      : '<tr><td colspan="8" class="muted">No call matches these filters.</td></tr>';
    document.getElementById("l-count").textContent = `Showing ${rows.length} of ${grading.calls.length} calls`;
  };
  document.getElementById("l-status").onchange = (e) => { state.status = e.target.value; draw(); };
  document.getElementById("l-system").onchange = (e) => { state.system = e.target.value; draw(); };
  draw();
  if (live.games.some((g) => g.status !== "final")) {
    const here = location.hash;
    liveTimer = setTimeout(() => { if (location.hash === here) route(); }, LIVE_REFRESH_MS);
  }
}

// ------------------------------------------------------------------------------ router

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  window.scrollTo(0, 0);
  try {
    if (parts[0] === "day" && parts[1]) await renderDay(parts[1]);
    else if (parts[0] === "player" && parts[1]) await renderPlayer(parts[1], parts[2]);
    else if (parts[0] === "results") await renderResults(parts[1]);
    else if (parts[0] === "track") await renderTrack(parts[1]);
    else if (parts[0] === "live") await renderLive(parts[1]);
    else await renderDay(null);
    document.body.dataset.ready = location.hash || "#/";
  } catch (error) {
    app.innerHTML = notice(`Could not render this page: ${esc(error.message)}`);
    document.body.dataset.ready = "error";
    throw error;
  }
}

// In the phone layout a table cell is a flex row (label, value): keep each value in one element.
function wrapCells(root) {
  root.querySelectorAll("table.cards td").forEach((td) => {
    if (td.childNodes.length > 1) {
      const span = document.createElement("span");
      span.className = "cv";
      while (td.firstChild) span.appendChild(td.firstChild);
      td.appendChild(span);
    }
  });
}
new MutationObserver(() => wrapCells(app)).observe(app, { childList: true, subtree: true });

window.addEventListener("hashchange", () => { document.body.dataset.ready = ""; route(); });
route();
