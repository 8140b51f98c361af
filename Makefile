# The course's two commands are `make lab` and `make test`; both set everything up on a fresh machine.
# `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.browser-installed
# The notebook run of `make test` (environment, pytest arguments); `make test-oldest` runs the same one.
NBVAL_ENV := COURSE_FAST=1 COURSE_REQUIRE_CORRECT=1
NBVAL := --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg solutions
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install lab test test-oldest test-browser unit exercises check-exercises execute lint badges clean-artifacts \
	check-python

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

check-python:  ## check that python3 (or PYTHON=...) is 3.11-3.13 and an existing .venv was built with one
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found. Install Python 3.11, 3.12 or \
	3.13 (python.org), then run e.g. \`make lab PYTHON=python3.12\`." >&2; exit 1; }
	@$(PYTHON) tools/check_python.py --venv $(VENV)

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt pyproject.toml | check-python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	@touch $(STAMP)

install: $(STAMP)  ## create .venv (if missing) and install requirements + utils (editable); nothing global

lab: install  ## set up, then open JupyterLab on the course (loopback, a free port)
	$(PY) tools/lab.py

test: install  ## set up, then run everything: unit tests, exercise sync, stale outputs, nbval (fast mode)
	$(PY) tools/check_data.py
	$(PY) -m pytest tests -n 2  # two workers (pytest-xdist): the unit tests in about 60% of the time
	$(NBVAL_ENV) $(PY) -m pytest $(NBVAL)

test-oldest:  ## unit tests + solutions (fast) on the lowest versions, Python 3.13, in .venv-oldest (skips without 3.13)
	$(PYTHON) tools/run_oldest.py --venv .venv-oldest --nbval-env "$(NBVAL_ENV)" --nbval "$(NBVAL)"

$(BROWSER_STAMP): $(STAMP) requirements-browser.txt
	$(PY) -m pip install --quiet -r requirements-browser.txt
	@touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)  ## JupyterLab in headless Chromium, as a learner (needs the system chromium; screenshots: artifacts/browser)
	$(PY) tools/browser_test.py

unit: install  ## only the pytest unit tests (no notebooks)
	$(PY) -m pytest tests -n 2

exercises: install  ## regenerate notebooks/ from solutions/; keeps edited ones (FORCE=1: copy, then replace)
	$(PY) tools/make_exercises.py $(if $(FORCE),--force)

check-exercises: install  ## contributors: check that notebooks/ matches solutions/ (as on disk or committed)
	$(PY) tools/make_exercises.py --check

execute: install  ## run solutions/ in full mode and store outputs (NB=solutions/02_gan.ipynb for one)
	$(PY) tools/execute_solutions.py $(or $(NB),solutions)

lint: install  ## ruff over utils, tools, tests and notebooks
	$(PY) -m ruff check .

badges: install  ## regenerate the Colab/Binder badges in README.md and the notebooks
	$(PY) tools/badges.py

clean-artifacts:  ## list what `artifacts/` holds (trained models); delete it yourself if you mean to
	@ls -R artifacts 2>/dev/null || echo "no artifacts/"
