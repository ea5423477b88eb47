# The two commands: `make run` and `make test`. Only Python 3.11, git and make are needed.
# python3.11 if it is on the PATH, else python3 (check-python says if that is not 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VENV := $(VENV)-lock

.PHONY: install run test test-browser lint unit simulate bench clean check-python lock
.DEFAULT_GOAL := install

# One line saying what to install when Python 3.11 or its venv module is missing.
check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found: install Python 3.11 (Debian/Ubuntu: apt install python3.11), or make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null || { echo "make: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown), not 3.11: install Python 3.11 (apt install python3.11), or make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(BIN)/python || { d=$$(mktemp -d) && $(PYTHON) -m venv $$d/v >/dev/null 2>&1; ok=$$?; rm -rf $$d; test $$ok = 0; } || { echo "make: $(PYTHON) -m venv does not work: install the venv module (Debian/Ubuntu: apt install python3.11-venv)" >&2; exit 1; }

# Installs the hashed lock of everything (runtime + embedded services + test tools); pip shows its
# progress, and refuses any file whose hash is not in the lock.
$(STAMP): requirements.txt requirements-dev.txt | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make: installing requirements-dev.txt into $(VENV) (the first time takes a few minutes)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on --require-hashes -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) ## (plain `make`) check Python 3.11 and venv, then install the dev lock into .venv

# Regenerates both locks from requirements.in and requirements-dev.in (edit those, never the locks);
# locked versions stay unless LOCK_ARGS=--upgrade.
# requirements.txt: what production runs; requirements-dev.txt: the same pins plus the dev set.
LOCK_ARGS ?=
UV_COMPILE = $(UV_VENV)/bin/uv pip compile --quiet $(LOCK_ARGS) --generate-hashes --python-version 3.11 --custom-compile-command "make lock"
lock: | check-python
	test -x $(UV_VENV)/bin/uv || { $(PYTHON) -m venv $(UV_VENV) && $(UV_VENV)/bin/python -m pip install --disable-pip-version-check uv==0.13.9; }
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements-dev.in -o requirements-dev.txt

run: $(STAMP) ## start everything on embedded services; Ctrl-C stops it
	$(BIN)/python -m devstack run

test: $(STAMP) lint ## lint, then every test (starts and stops its own servers)
	$(BIN)/python -m pytest

# Debian's chromium and chromium-driver (apt keeps their versions equal), installed when missing;
# tests/browser names both, so selenium never downloads a browser or a driver.
BROWSER_PACKAGES := chromium chromium-driver
test-browser: $(STAMP) ## the /demo page in headless Chromium (installs chromium, chromium-driver); screenshots in .data/browser/
	@if ! test -x /usr/bin/chromium || ! test -x /usr/bin/chromedriver; then \
		if [ "$$(id -u)" != 0 ]; then echo "make: test-browser needs Chromium and its driver: sudo apt-get install -y $(BROWSER_PACKAGES)" >&2; exit 1; fi; \
		echo "make: installing $(BROWSER_PACKAGES) with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y $(BROWSER_PACKAGES) || { apt-get update && apt-get install -y $(BROWSER_PACKAGES); }; \
	fi
	$(BIN)/python -m pytest tests/browser -q

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
	rm -rf $(VENV) $(UV_VENV) .data .pytest_cache .mypy_cache .ruff_cache
