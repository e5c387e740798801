# Every target sets up its own virtual environment from pyproject.toml on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml sdk/pyproject.toml | cksum | cut -d' ' -f1)
# checkov pins its own boto3 and packaging: it gets a virtual environment of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

# aws-sam-cli pins old boto3 and pydantic: it gets a virtual environment of its own too.
SAM_VERSION := 1.170.0
SAM_VENV := .sam-venv
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)

.PHONY: demo local test lint typecheck security unit integration e2e clean bench events build

$(STAMP): pyproject.toml sdk/pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' -e './sdk[kinesis]'
	touch $@

demo: $(STAMP)  ## run the service's main job locally
	$(BIN)/budget-service demo

local: $(STAMP)  ## the local stack, until Ctrl-C
	$(BIN)/budget-service local

test: lint typecheck security  ## every check and every test, as CI runs them
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy layers/domain/budget_core functions tools sdk/budget_sdk

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

security: $(STAMP) $(CHECKOV_STAMP)  ## checkov on the SAM-expanded template (exceptions: Metadata.checkov.skip, with reasons)
	mkdir -p .aws-sam
	$(BIN)/budget-service expand-template > .aws-sam/expanded.json
	$(CHECKOV_VENV)/bin/checkov -f .aws-sam/expanded.json --framework cloudformation --compact --quiet --skip-download

$(SAM_STAMP):
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)
	touch $@

build: $(STAMP) $(SAM_STAMP)  ## the deployable build: sam build, then the runtime's bytecode (python3.12 on PATH)
	$(SAM_VENV)/bin/sam build
	$(BIN)/budget-service compile-build

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .budget-local

bench: $(STAMP)  ## benchmarks, printed as JSON
	$(BIN)/python -W ignore bench/check_bench.py
	$(BIN)/python -W ignore bench/alert_bench.py
	$(BIN)/python -W ignore bench/cost_model.py  # also prints the ingestion benchmark it measures
	$(BIN)/python -W ignore bench/cold_start.py
	$(BIN)/python -W ignore bench/hot_key.py
	$(BIN)/python -W ignore bench/holds_bench.py
	$(BIN)/python -W ignore bench/guard_bench.py

events: $(STAMP)  ## rebuild the Kinesis sample events from events/usage_ingest/sources
	$(BIN)/budget-service make-events
