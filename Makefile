# Everything the project needs is installed by `make install` into .venv (Python >= 3.11).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint typecheck check build validate clean

install: $(STAMP)

$(STAMP): pyproject.toml layers/ordersync/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/ordersync local demo --report demo-report.json

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# Needs aws-sam-cli (pip install aws-sam-cli); offline-capable with SAM_CLI_TELEMETRY=0.
validate:
	SAM_CLI_TELEMETRY=0 sam validate --lint

build:
	SAM_CLI_TELEMETRY=0 sam build

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache demo-report.json

bench: install
	$(BIN)/ordersync bench --orders 500 --lines 3 --json bench-report.json
