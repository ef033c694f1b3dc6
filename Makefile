# metrics-auditor developer commands. `make test` needs nothing installed beforehand
# except Python 3.11+, make and (for Debian packages) apt-get.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint bench demo system-deps clean format

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-deps:
	scripts/install-system-deps
	scripts/fetch-servers

# Most tests wait on real servers, not on the CPU: four workers keep `make test` well under 10 minutes
# on 2 cores. A test file runs whole in one worker, so a module's servers start once.
TEST_WORKERS ?= 4

test: system-deps $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check auditor tests migrations bench
	$(VENV)/bin/ruff format --check auditor tests migrations bench
	$(VENV)/bin/mypy --strict auditor bench
	$(VENV)/bin/lint-imports --no-cache architecture.ini
	$(VENV)/bin/hadolint deploy/Dockerfile

format: $(STAMP)
	$(VENV)/bin/ruff check --fix auditor tests migrations bench
	$(VENV)/bin/ruff format auditor tests migrations bench

bench: system-deps $(STAMP)
	$(PY) -m bench

# The demo runs on Prometheus 3.5 LTS, fetched into .cache/servers the first time (about 230 MB with the
# package lists, seconds); DEMO_PROMETHEUS=/usr/bin/prometheus runs it on another binary (Debian 12's 2.42).
DEMO_PROMETHEUS ?=

demo: $(STAMP)
	@if [ -z "$(DEMO_PROMETHEUS)" ]; then scripts/fetch-servers prometheus-3.5; fi
	DEMO_PROMETHEUS="$(DEMO_PROMETHEUS)" $(PY) -m auditor.demo

clean:
	rm -rf $(VENV) .cache .demo build dist .pytest_cache .mypy_cache .ruff_cache
