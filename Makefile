# Everything the project needs is installed by `make install` into .venv (Python >= 3.11).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test grants bench mutate lint typecheck check build validate clean

install: $(STAMP)

$(STAMP): pyproject.toml layers/ordersync/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/ordersync local demo --report demo-report.json

# Four workers on two cores: a test spends much of its time waiting (a store's pace, an SQS delay,
# a stall past a read timeout, the fault campaign's hours), and each worker starts with its share
# of the long ones (tests/conftest.py).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 4 --dist worksteal --durations=20

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# SAM CLI in its own environment: its pins would fight the project's (moto, boto3).
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# The template's runtime, found rather than assumed: python3.12 on PATH, else pyenv's (a pyenv shim
# that answers for another version doesn't count).
PYTHON312 := $(shell for p in $$(command -v python3.12) $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo "$$p" && break; done)

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli
	touch $@

# cfn-lint and SAM's own lint: no error and no warning.
validate: install $(SAM_VENV)/.installed
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1

# sam build with python3.12, then every built handler imported as Lambda would (tools/check_build.py).
build: validate
	@test -n "$(PYTHON312)" || { echo "make build: no Python 3.12 (the template's runtime) on PATH or in pyenv" >&2; exit 1; }
	PATH="$(dir $(PYTHON312)):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build --template template.yaml --parallel
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/python tools/check_build.py $(PYTHON312) .aws-sam/build

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache demo-report.json

# The whole integration suite, writing tests/integration/proven_grants.json: the grants its calls
# needed, by which test_permissions judges the template in any selection. Review the diff.
grants: install
	ORDERSYNC_RECORD_GRANTS=1 $(BIN)/pytest -q -n 4 --dist worksteal tests/integration

bench: install
	$(BIN)/ordersync bench --orders 500 --lines 3 --json bench-report.json

# Mutation testing of domain/, normalize/, services/, alerts/ with the unit tests (slow: a report,
# not part of `make test`). Last line: {"killed", "survived", "score", "by_package"} as JSON.
# Then the hand-written semantic mutants (tools/semantic_mutants.py), each expected killed.
mutate: install
	$(BIN)/pip install --quiet --disable-pip-version-check "mutmut>=3.8,<4"
	$(BIN)/python tools/mutate.py
	$(BIN)/python tools/semantic_mutants.py
