# The tutorial's commands. `make` alone lists them; each target's `##` comment is its help.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make sweep`: which sweep file, and how many jobs at once.
SWEEP ?= sweeps/handbook.yaml
# `make verify`: the branch the story ran on (the one checked out, as `make tutorial` uses).
MAIN ?= $(shell git branch --show-current | grep -vx randomforest || echo main)
JOBS ?= 2
# `make test`: pytest-xdist workers, each taking a whole test file at a time (its module fixtures
# made once); most tests drive one chain of processes that keeps one core busy.
TEST_WORKERS ?= 2
# `software` runs every stage in the container; `none` in .venv (no engine needed).
CONTAINER ?= software
export CONTAINER
PIPELINE := $(BIN)/python -m pipeline
# Long commands show a progress line and their outcome; their full output goes to a log under
# .git/imageclf-logs/. VERBOSE=1 shows everything as it comes.
export VERBOSE
WATCH := $(if $(filter-out 0,$(VERBOSE)),,@$(BIN)/python code/pipeline/terminal.py --)
ifndef WORK_DIR  # where `make walkthrough` creates its scratch datasets (a new folder each time)
WORK_DIR := $(shell mktemp -d -u /tmp/imageclf-walkthrough-XXXX)
endif

.PHONY: help setup engine data container stages tutorial compare report lab verify overhead bench walkthrough docs lint test sweep workshop

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.installed engine ## create .venv (pinned packages) and make sure a container engine is there
	@# A clone of main alone has no git-annex branch yet: initialise the annex once (called by its
	@# path, like every git-annex below: .venv's bin need not be on PATH).
	@git config --get annex.uuid >/dev/null || $(BIN)/git-annex init --quiet
	@code/git-annex-anywhere.sh $(BIN)/git-annex .

$(VENV)/.installed: requirements.txt code/container/requirements.lock $(wildcard code/papermill_stable/*)
	$(PYTHON) -m venv $(VENV)
	@# The terminal's progress bars are tqdm's (the lock's pin): first, so it watches pip.
	@$(BIN)/pip install -qq --disable-pip-version-check "$$(grep -m1 '^tqdm==' code/container/requirements.lock)"
	$(WATCH) $(BIN)/pip install --upgrade pip
	$(WATCH) $(BIN)/pip install -r requirements.txt
	@# code/ on the venv's path: `python -m pipeline` and JupyterLab's kernel find the packages.
	@echo "$(CURDIR)/code" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tutorial-code.pth"
	@echo "Set up. git works here in any shell; datalad and python -m pipeline need: . $(BIN)/activate"
	@touch $@

engine: ## install podman where it is missing (Debian as root) or say how to get an engine
	@code/container/install-engine.sh

data: $(VENV)/.installed ## create the input dataset from IMAGENETTE_URL and clone it into data/raw
	$(PIPELINE) data
	@code/git-annex-anywhere.sh $(BIN)/git-annex .

container: setup ## build the software image and register it in the dataset (containers-add)
	@if [ "$(CONTAINER)" = none ]; then echo "CONTAINER=none: stages run in $(VENV), no image to build."; \
	else $(PIPELINE) container setup; fi

stages: $(VENV)/.installed ## run prepare, train and evaluate through datalad and print the accuracy
	$(PIPELINE) run

tutorial: setup data container ## everything, then the handbook's story: SGD-10, SGD-100, random forest, compared
	$(PIPELINE) tutorial

compare: $(VENV)/.installed ## every evaluation across branches and tags: table, results/compare.md and .png
	@mkdir -p results
	$(PIPELINE) compare --sort accuracy --plot results/compare.png
	@$(PIPELINE) compare --sort accuracy --format markdown --output results/compare.md

report: $(VENV)/.installed ## every executed notebook in the history as HTML: results/report/index.html
	$(PIPELINE) report

lab: $(VENV)/.installed ## JupyterLab on localhost, opening the walkthrough (kernel: .venv, same pins as the container)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  notebooks/walkthrough.ipynb

verify: $(VENV)/.installed ## rerun the story's train and evaluate records and check the outputs are identical
	@# The story ran on the branch checked out (main in a plain clone); randomforest is its branch.
	$(PIPELINE) verify ready4analysis..$(MAIN) $(MAIN)..randomforest

overhead: $(VENV)/.installed ## print containers-run's overhead per stage over direct papermill (after `make tutorial`)
	$(PIPELINE) overhead

sweep: setup data container ## run a sweep (SWEEP=sweeps/NAME.yaml JOBS=2): a branch per job, one merge commit, tag sweep/NAME
	$(PIPELINE) sweep $(SWEEP) -j $(JOBS)

workshop: $(VENV)/.installed engine ## as root: a JupyterHub for a room (PARTICIPANTS=8 or names); then python -m pipeline workshop status|stop|remove
	$(PIPELINE) workshop setup $(if $(PARTICIPANTS),--participants "$(PARTICIPANTS)")

bench: setup data container ## our stages against the handbook's scripts: table with targets, results/benchmark.json
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m benchmark

walkthrough: setup ## execute notebooks/walkthrough.ipynb with papermill in a scratch folder (WORK_DIR)
	$(BIN)/papermill notebooks/walkthrough.ipynb $(WORK_DIR)/walkthrough.ipynb -k python3 \
	  -p work_dir $(WORK_DIR)/datasets -p container $(CONTAINER) $(if $(IMAGENETTE_URL),-p data_url $(IMAGENETTE_URL))
	@echo "executed notebook: $(WORK_DIR)/walkthrough.ipynb"

docs: $(VENV)/.installed engine ## the walkthrough executed for readers: docs/walkthrough.ipynb and .html (IMAGENETTE_URL=file://...)
	$(BIN)/python docs/build_walkthrough.py

lint: $(VENV)/.installed ## check the Python code and notebooks with ruff (ruff.toml)
	$(BIN)/ruff check code tests docs notebooks

test: setup ## set up (and Debian's chromium for the browser tests), then run the test suite
	@tests/install-browser.sh
	$(BIN)/python -m pytest -ra -n $(TEST_WORKERS) --dist loadfile --durations=25 tests
