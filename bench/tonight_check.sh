#!/usr/bin/env bash
# Tonight mode, the whole "Done when" of issue 11 point 3 (about 20 minutes a run on 2 cores):
#
#   1. an archive from the box scores before D and the lines up to D (D = 2024-12-10, cut from
#      data/), its games from data/schedule.csv (replay build's default);
#   2. the whole graph over 2021-10-19..D in one run into a fresh lake and instance;
#   3. D's predictions compared with a lake that had D's box scores: every player that lake
#      predicts must be predicted with identical values (created_at aside), and
#      exports/v1/predictions/D.json must be the same document (generated_at aside).
#
# The reference lake is REFERENCE_LAKE (e.g. the demo lake, .lake after `make demo`) when it holds
# D's predictions; otherwise it is built the same way from the full data/ archive over
# 2021-10-19..D (D's rows depend only on what is before D, so it equals the demo lake's for D).
#
#   bench/tonight_check.sh [all|tonight|reference|compare]    (default all; steps can run apart)
#
# Environment: WORK (default /tmp/nba_tonight_check), D, START, REFERENCE_LAKE. Exit 0 when equal.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$REPO/.venv/bin/python"
WORK="${WORK:-/tmp/nba_tonight_check}"
D="${D:-2024-12-10}"
START="${START:-2021-10-19}"
REFERENCE_LAKE="${REFERENCE_LAKE:-}"
STEP="${1:-all}"
mkdir -p "$WORK"
cd "$REPO"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$WORK/check.log"; }

run_range() {  # name archive: the whole graph over START..D into $WORK/lake_<name>, fresh each time
  local name="$1" archive="$2" started
  rm -rf "$WORK/lake_$name" "$WORK/home_$name"
  started=$(date +%s)
  log "$name: make run START=$START END=$D (archive $archive)"
  NBA_REPLAY_DIR="$archive" NBA_LAKE_DIR="$WORK/lake_$name" DAGSTER_HOME="$WORK/home_$name" \
    make --no-print-directory run START="$START" END="$D" >"$WORK/run_$name.log" 2>&1 \
    || { log "$name: run failed, see $WORK/run_$name.log"; exit 1; }
  log "$name: done in $(( $(date +%s) - started )) s"
}

tonight() {
  "$PY" - "$WORK" "$D" <<'EOF'
import sys
import polars as pl
work, d = sys.argv[1], sys.argv[2]
pl.read_parquet("data/player_box_scores.parquet").filter(pl.col("game_date") < d).write_parquet(f"{work}/box_before.parquet")
pl.read_parquet("data/player_points_lines_dfs.parquet").filter(pl.col("game_date") <= d).write_parquet(f"{work}/lines_upto.parquet")
EOF
  "$PY" -m nba_assets.replay build --box-scores "$WORK/box_before.parquet" --lines "$WORK/lines_upto.parquet" \
    --out "$WORK/replay_tonight" | tee -a "$WORK/check.log"
  run_range tonight "$WORK/replay_tonight"
}

reference() {
  if [ -n "$REFERENCE_LAKE" ] && [ -f "$REFERENCE_LAKE/nba_predictions/player_prop_predictions/game_date=$D/part-0.parquet" ]; then
    log "reference: $REFERENCE_LAKE"
    return
  fi
  "$PY" -m nba_assets.replay build --box-scores data/player_box_scores.parquet \
    --lines data/player_points_lines_dfs.parquet --out "$WORK/replay_full" | tee -a "$WORK/check.log"
  run_range full "$WORK/replay_full"
}

compare() {
  local ref="${REFERENCE_LAKE:-}"
  if [ -z "$ref" ] || [ ! -f "$ref/nba_predictions/player_prop_predictions/game_date=$D/part-0.parquet" ]; then
    ref="$WORK/lake_full"
  fi
  "$PY" - "$WORK/lake_tonight" "$ref" "$D" <<'EOF' | tee -a "$WORK/check.log"
import json
import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

tonight, reference, d = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
part = f"nba_predictions/player_prop_predictions/game_date={d}/part-0.parquet"
blind, seen = (pl.read_parquet(lake / part).drop("created_at") for lake in (tonight, reference))
keys = ["player_id", "system_id"]
print(f"{d}: tonight lake {blind.height} predictions ({blind['player_id'].n_unique()} players, "
      f"systems {sorted(blind['system_id'].unique())}); reference {seen.height} ({seen['player_id'].n_unique()} players)")
missing = seen.join(blind, on=keys, how="anti")
extra = blind.join(seen, on=keys, how="anti")
print(f"predicted by the reference only: {missing.height}; by the tonight lake only: {extra.height}")
ok = missing.height == 0 and blind.height > 0
same = blind.join(seen.select(keys), on=keys, how="semi").sort(keys)
try:
    assert_frame_equal(same, seen.sort(keys))
    print(f"identical values for all {seen.height} reference predictions")
except AssertionError as exc:
    ok = False
    print(f"values differ: {exc}")
doc = f"exports/v1/predictions/{d}.json"
a, b = (json.loads((lake / doc).read_text()) for lake in (tonight, reference))
a.pop("generated_at"), b.pop("generated_at")
print(f"{doc}: {'same document' if a == b else 'DIFFERS'}")
ok = ok and a == b
t = json.loads((tonight / "exports/v1/tonight/all-players.json").read_text())
print(f"tonight/all-players.json of the tonight lake: game_date {t['game_date']}, "
      f"{sum(len(g['players']) for g in t['games'])} players")
ok = ok and t["game_date"] == d
print("RESULT:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
}

case "$STEP" in
  all) tonight; reference; compare ;;
  tonight) tonight ;;
  reference) reference ;;
  compare) compare ;;
  *) echo "usage: $0 [all|tonight|reference|compare]" >&2; exit 2 ;;
esac
