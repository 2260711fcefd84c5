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
.PHONY: help setup grade check hint list lab test test-slow lint bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (EX=<exercise id> for check and hint; N=<level> for a specific hint)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the lab into $(VENV) (first run takes a few minutes)..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install everything (other targets do this for you)

grade: $(STAMP) ## Grade your work in exercises/ (every exercise)
	@$(BIN)/grader grade

check: $(STAMP) ## Grade one exercise with every problem shown: make check EX=pandas-cleaning
	@test -n "$(EX)" || { echo "usage: make check EX=<exercise id>  (see: make list)"; exit 2; }
	@$(BIN)/grader check $(EX)

hint: $(STAMP) ## Show the next hint: make hint EX=pandas-cleaning [N=2]
	@test -n "$(EX)" || { echo "usage: make hint EX=<exercise id> [N=level]  (see: make list)"; exit 2; }
	@$(BIN)/grader hint $(EX) $(N)

list: $(STAMP) ## List exercises, points and your last status
	@$(BIN)/grader list

lab: $(STAMP) ## Open JupyterLab on the notebooks
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(STAMP) lint ## Run the project's own tests (engine, golden, attacks, content, notebooks)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP) ## Run the long opt-in checks too
	$(BIN)/python -m pytest -q

lint: $(STAMP) ## ruff and mypy on the grader
	$(BIN)/ruff check grader tests scripts
	$(BIN)/mypy

bench: $(STAMP) ## Print speed and memory numbers (start-up, grading, worker calls)
	$(BIN)/python scripts/bench.py

clean: ## Remove caches and grading state (keeps .venv; `rm -rf .venv` for a full reset)
	rm -rf .grader .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
