# The project's commands. Every target passes NBA_LAKE_DIR, NBA_REPLAY_DIR and DAGSTER_HOME through.
SHELL := /bin/bash
PYTHON ?= python3.13
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
DG := VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CURDIR)/$(VENV)/bin/dg

DEFAULT_REPLAY_DIR := $(CURDIR)/.replay
export NBA_LAKE_DIR ?= $(CURDIR)/.lake
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export NBA_REPLAY_DIR ?= $(DEFAULT_REPLAY_DIR)
# One "planned" event per asset for a ranged run instead of one per partition (Dagster's own
# switch): a four-season run logs ~9k fewer events. Side effect, per Dagster: when such a run
# fails, its partitions are not marked failed (they stay unmaterialized).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= 1
# Dagster hands a step's partition events (and a run's planned events) to the event log as one
# batch of up to this many events; the project's storage (nba_assets/event_storage.py) writes a
# batch in one transaction. 0 turns batching off (one write per event).
export DAGSTER_EVENT_BATCH_SIZE ?= 1000

# Run logs at INFO on the console (the DEBUG event stream of a four-season run is ~10k lines).
RUN_CONFIG := --config-json '{"loggers": {"console": {"config": {"log_level": "INFO"}}}}'
DEMO_START := 2021-10-19
DEMO_END := 2024-12-15
BOX_SCORES := data/player_box_scores.parquet
LINES := data/player_points_lines_dfs.parquet

# make web: the front end on 127.0.0.1:$(PORT), over $(NBA_LAKE_DIR)/exports/v1 or WEB_BASE_URL.
PORT ?= 8000
WEB_BASE_URL ?=

.PHONY: setup demo run dev web gameday test bench replay instance clean

setup: ## create .venv and install the project from its own files
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@# pip compiles the packages it installs, not an editable project: where PYTHONDONTWRITEBYTECODE
	@# is set (as where the clean-clone CIs ran) every process compiled the modules it loads
	@# again (~0.1 s for the definitions).
	$(PY) -m compileall -q nba_assets
	$(MAKE) --no-print-directory instance

instance: ## write the Dagster instance configuration into $DAGSTER_HOME
	$(PY) -m nba_assets.instance "$(DAGSTER_HOME)"

replay: ## build the replay archive from the repo's real data (only the default archive)
	@if [ "$(NBA_REPLAY_DIR)" = "$(DEFAULT_REPLAY_DIR)" ]; then \
	  $(PY) -m nba_assets.replay build --box-scores $(BOX_SCORES) --lines $(LINES) --out "$(DEFAULT_REPLAY_DIR)"; \
	else echo "using the replay archive at $(NBA_REPLAY_DIR)"; fi

demo: replay instance ## the whole graph over the real data, one single-run backfill, then a summary
	$(DG) launch --assets '*' --partition-range "$(DEMO_START)...$(DEMO_END)" $(RUN_CONFIG)
	$(PY) -m nba_assets.summary --start $(DEMO_START) --end $(DEMO_END)

# make run: the run `dg launch --assets '*' --partition-range START...END $(RUN_CONFIG)` starts, in
# one process with the instance file before it and the summary after it (nba_assets/run.py: the
# same Dagster function on the same code location, without dg's CLI and two more interpreters).
# It serves no UI: the launch skips Dagster's catalog of installed component types (~1 s).
run: ## the whole graph for START..END in one run, then the summary
	@test -n "$(START)" -a -n "$(END)" || { echo "usage: make run START=YYYY-MM-DD END=YYYY-MM-DD"; exit 2; }
	@if [ "$(NBA_REPLAY_DIR)" = "$(DEFAULT_REPLAY_DIR)" ] && [ ! -f "$(DEFAULT_REPLAY_DIR)/manifest.json" ]; then $(MAKE) --no-print-directory replay; fi
	NBA_COMPONENT_CATALOG=$${NBA_COMPONENT_CATALOG:-off} $(PY) -m nba_assets.run "$(DAGSTER_HOME)" --start $(START) --end $(END)

dev: instance ## Dagster UI and daemon on the same lake and instance
	$(DG) dev --host 127.0.0.1

web: ## the web front end on http://127.0.0.1:$(PORT)/ over the JSON exports
	$(PY) -m nba_assets.web --host 127.0.0.1 --port $(PORT) $(if $(WEB_BASE_URL),--base-url "$(WEB_BASE_URL)",--exports "$(NBA_LAKE_DIR)/exports/v1")

gameday: ## a recorded day played by the daemon: make gameday DATE=2024-12-10 SPEED=120 [HISTORY=7]
	@test -n "$(DATE)" || { echo "usage: make gameday DATE=YYYY-MM-DD [SPEED=120] [HISTORY=7]"; exit 2; }
	$(PY) -m nba_assets.gameday --date $(DATE) --speed $(or $(SPEED),120) --history $(or $(HISTORY),7)

test: ## lint, definitions check and the test suite
	$(CURDIR)/$(VENV)/bin/ruff check nba_assets nba_assets_tests bench
	$(DG) check defs
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15

bench: replay instance ## figures into bench/results.json
	$(PY) bench/run_bench.py --out bench/results.json

clean: ## remove the local lake, instance and replay archive (never the data)
	rm -rf .lake .dagster_home .replay .gameday
