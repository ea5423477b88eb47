# The two commands: `make run` and `make test`. Only Python 3.11, git and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit simulate bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP) ## start everything on embedded services; Ctrl-C stops it
	$(BIN)/python -m devstack run

test: $(STAMP) lint ## lint, then every test (starts and stops its own servers)
	$(BIN)/python -m pytest

unit: $(STAMP) ## the domain's unit tests only (seconds, no servers)
	$(BIN)/python -m pytest tests/unit -q

SEEDS ?= 2000
STEPS ?= 300
FIRST_SEED ?= 0
simulate: $(STAMP) ## more seeds of the domain's seeded simulation: make simulate SEEDS=100000 [STEPS=600]
	SIM_SEEDS=$(SEEDS) SIM_STEPS=$(STEPS) SIM_FIRST_SEED=$(FIRST_SEED) \
		$(BIN)/python -m pytest tests/unit/simulation -q -rfE --maxfail=20

lint: $(STAMP) ## ruff, mypy and the import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/mypy domain adapters api workers
	$(BIN)/lint-imports

BENCH_ARGS ?=
bench: $(STAMP) ## every figure beside its floor, one table, bench/results/latest.json (BENCH_ARGS=--quick)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
