# The course's two commands are `make lab` and `make test`; both set everything up on a fresh machine.
# `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install lab test unit exercises check-exercises execute lint badges clean-artifacts

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	@touch $(STAMP)

install: $(STAMP)  ## create .venv (if missing) and install requirements + utils (editable); nothing global

lab: install  ## set up, then open JupyterLab on the course (loopback, a free port)
	$(PY) tools/lab.py

test: install  ## set up, then run everything: unit tests, exercise sync, stale outputs, nbval (fast mode)
	$(PY) tools/make_exercises.py --check
	$(PY) -m pytest tests
	COURSE_FAST=1 COURSE_REQUIRE_CORRECT=1 $(PY) -m pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg solutions

unit: install  ## only the pytest unit tests (no notebooks)
	$(PY) -m pytest tests

exercises: install  ## regenerate notebooks/ from solutions/
	$(PY) tools/make_exercises.py

execute: install  ## run solutions/ in full mode and store outputs (NB=solutions/02_gan.ipynb for one)
	$(PY) tools/execute_solutions.py $(or $(NB),solutions)

lint: install  ## ruff over utils, tools, tests and notebooks
	$(PY) -m ruff check .

badges: install  ## regenerate the Colab/Binder badges in README.md and the notebooks
	$(PY) tools/badges.py

clean-artifacts:  ## list what `artifacts/` holds (trained models); delete it yourself if you mean to
	@ls -R artifacts 2>/dev/null || echo "no artifacts/"
