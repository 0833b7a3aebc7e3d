# transformer-prep — `make run` to study, `make test` to check everything.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The one place torch is pinned: the CPU build (an unpinned torch pulls a multi-GB CUDA build).
TORCH_SPEC := torch==2.13.0
APT_PACKAGES := chromium fonts-noto-cjk

.PHONY: run test install install-dev browser lint train evaluate bench benchmarks grading-eval migration clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps re-run the install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The Host names the app answers to (400 for others: no DNS rebinding); HOST itself is added (SERVE_HOST).
# uvicorn limits: beyond 128 open connections or running requests new ones get 503 instead of queueing without
# end (uvicorn counts connections and request tasks, and a task may still be finishing when its client has
# the response and sends the next request: 64 refused ~1% of requests from 50 clients, benchmarks/load.py);
# idle keep-alive connections close after 5 s.
run: install
	SERVE_HOST='$(HOST)' $(if $(ALLOWED_HOSTS),ALLOWED_HOSTS='$(ALLOWED_HOSTS)') \
	  $(VENV)/bin/uvicorn app.main:app --host $(HOST) --port $(PORT) --limit-concurrency 128 --timeout-keep-alive 5

# Debian's chromium for the browser tests (Playwright drives /usr/bin/chromium; it cannot download browsers here).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi
	@/usr/bin/chromium --version

test: install-dev browser
	$(VENV)/bin/ruff check app model tests benchmarks
	$(PY) -m pytest -q

lint: install-dev
	$(VENV)/bin/ruff check app model tests benchmarks
	$(VENV)/bin/ruff format --check app model tests benchmarks

train: install
	$(PY) -m model.train

evaluate: install
	$(PY) -m model.evaluate

bench: install
	$(PY) -m model.bench

# The answer checker on the hand-labelled calibration set (question_bank/calibration/); fails under its targets.
grading-eval: install
	$(PY) -m app.grading.evaluate --strict

# Speed figures of the web app against a real server (see README, Performance).
benchmarks: install-dev
	$(PY) benchmarks/run_all.py

# After changing app/models.py: write a new Alembic revision from the table definitions.
migration: install
	rm -f /tmp/transformer-prep-migration.db
	DATABASE_URL=sqlite:////tmp/transformer-prep-migration.db $(VENV)/bin/alembic upgrade head
	DATABASE_URL=sqlite:////tmp/transformer-prep-migration.db $(VENV)/bin/alembic revision --autogenerate -m "$(or $(MSG),schema change)"

clean:
	rm -rf $(VENV) .pytest_cache tests/screenshots
