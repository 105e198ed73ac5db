# Every target sets up what it needs: a fresh machine needs nothing but Python 3.11+ and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# sam build needs the Lambda runtime's Python (3.13) on PATH; pyenv's shim only answers when 3.13 is
# the selected version, so look for the interpreter itself.
PY313_DIR := $(shell dirname "$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1)" 2>/dev/null)
SAM_PATH := $(if $(PY313_DIR),$(PY313_DIR):,)$(CURDIR)/$(BIN):$(PATH)
ARGS ?=

.PHONY: help setup test lint format build validate deploy rehearse bench mutate mutate-fast mutate-fast-again mutation-stage lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "podcidr needs $(PYTHON) (Python 3.11 or newer; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --editable .  # the podcidr command (.venv/bin/podcidr)
	@command -v dot >/dev/null || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing graphviz (for rehearsal graphs)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) >/dev/null; \
	else echo "note: install graphviz ('dot') to draw rehearsal graphs"; fi; }
	touch $(STAMP)

setup: $(STAMP) ## create .venv with the pinned tools and libraries

# --dist loadfile: a test module's tests share one twin (a module-scoped fixture), so they go to one worker.
test: $(STAMP) ## run the test suite (unit, state machine, rehearsals on the twin)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(ARGS)

lint: $(STAMP) ## ruff, mypy, cfn-lint, the IAM policies (parliament, the state machines' calls) and sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m localcloud.iam.lint template.yaml
	$(BIN)/python -m localcloud.iam.state_machines template.yaml
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint

format: $(STAMP) ## format and autofix the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

build: $(STAMP) ## sam build (Lambda runtime python3.13, arm64)
	@[ -n "$(PY313_DIR)" ] || command -v python3.13 >/dev/null || { echo "sam build needs python3.13 on PATH (pyenv install 3.13)"; exit 1; }
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(BIN)/sam build

validate: $(STAMP) ## sam validate --lint
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint

deploy: build ## sam deploy --guided (needs AWS credentials)
	PATH="$(SAM_PATH)" $(BIN)/sam deploy --guided

rehearse: $(STAMP) ## run a whole execution on the local twin (ARGS="--scenario FILE --input FILE ...")
	$(BIN)/python -m localcloud rehearse $(ARGS)

bench: $(STAMP) ## benchmark rehearsals and print the figures
	$(BIN)/python -m localcloud.bench $(ARGS)

# mutmut names mutants after file paths and the tests import `podcidr`: it runs in a copy of the repository with
# the layer's package at src/podcidr; its results there (mutants/) are kept between runs, and only mutants without
# a result, or whose function changed, are run again.
# make mutate: every mutant against the tests that need no moto (.mutation-fast/, mutation/fast/pyproject.toml), then
# the score. Every module has such tests, so this is the score. With MOTO=1, then the moto-backed tests (.mutation/,
# mutation/pyproject.toml) against the mutants the fast stage did not kill and that have no moto-stage result yet
# (mutation/pending.py; hours: a survivor runs every moto-backed Plan test), and both stages' score.
MOTO :=
mutate: mutate-fast ## mutation testing of cidr.py, maxpods.py and the steps (mutmut; under an hour), then the score (ARGS="'podcidr.cidr*'": some; MOTO=1: also the moto stage, hours)
	if [ "$(MOTO)" = 1 ]; then \
	  $(BIN)/python -m mutation.pending .mutation-fast/mutants .mutation/mutants $(ARGS) > .mutation-pending; \
	  echo "moto stage: $$(grep -c . .mutation-pending || true) mutants the fast stage did not kill"; \
	  if [ -s .mutation-pending ]; then $(MAKE) mutation-stage MUTATION=.mutation MUTATION_CONFIG=mutation/pyproject.toml \
	    ARGS= NAMES=$(CURDIR)/.mutation-pending; fi; \
	  $(BIN)/python -m mutation.score .mutation-fast/mutants .mutation/mutants; \
	fi

mutate-fast: $(STAMP) ## make mutate's fast stage alone: every mutant against the tests that need no moto
	$(MAKE) mutation-stage MUTATION=.mutation-fast MUTATION_CONFIG=mutation/fast/pyproject.toml ARGS="$(ARGS)"
	$(BIN)/python -m mutation.score .mutation-fast/mutants
	@echo "survivors: .mutation-fast/survivors.txt ('cd .mutation-fast && ../$(BIN)/mutmut show NAME' shows one)"

mutate-fast-again: $(STAMP) ## re-run the fast stage's survivors and "no tests" (after new tests in a selected module; ARGS: mutmut globs)
	$(BIN)/python -m mutation.pending --again .mutation-fast/mutants $(ARGS) > .mutation-again
	# mutmut maps a function only to the tests that called it when they were first seen: drop the map, collect it anew
	rm -f .mutation-fast/mutants/mutmut-stats.json
	@echo "fast stage again: $$(grep -c . .mutation-again || true) mutants"
	if [ -s .mutation-again ]; then $(MAKE) mutation-stage MUTATION=.mutation-fast MUTATION_CONFIG=mutation/fast/pyproject.toml \
	  ARGS= NAMES=$(CURDIR)/.mutation-again; fi
	$(BIN)/python -m mutation.score .mutation-fast/mutants

# NAMES: a file of mutant names, one a line (too many for a command line)
NAMES := /dev/null
mutation-stage:
	mkdir -p $(MUTATION) && find $(MUTATION) -mindepth 1 -maxdepth 1 ! -name mutants -exec rm -rf {} +
	mkdir -p $(MUTATION)/src && cp -rp layers/podcidr $(MUTATION)/src/  # -p: mutmut regenerates files newer than their mutants
	cp -r tests localcloud cli functions statemachine template.yaml $(MUTATION)/
	cp $(MUTATION_CONFIG) mutation/conftest.py $(MUTATION)/
	cd $(MUTATION) && $(CURDIR)/$(BIN)/mutmut run --max-children 2 $(ARGS) $$(cat $(NAMES)) > mutmut-run.log 2>&1 || { tail -n 30 mutmut-run.log; exit 1; }
	cd $(MUTATION) && $(CURDIR)/$(BIN)/mutmut results > survivors.txt

lock: ## re-pin requirements-dev.lock and layers/requirements.txt from their .in files
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet -r layers/requirements.in
	{ echo "# Pinned by \`make lock\` from requirements.in; sam build installs this into the layer."; \
	  .lock-venv/bin/pip freeze --exclude-editable; } > layers/requirements.txt
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/pip install --quiet -r requirements-dev.in
	.lock-venv/bin/pip freeze --exclude-editable > requirements-dev.lock && rm -rf .lock-venv

clean: ## remove build output and the virtual environment
	rm -rf .aws-sam $(VENV) .mypy_cache .ruff_cache .pytest_cache .mutation .mutation-fast .mutation-pending .mutation-again
