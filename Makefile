# The few commands a contributor runs. `make test` is what CI runs (.ci/run).
#
#   make venv    create .venv and install bookshop with every extra (again when pyproject changes)
#   make test    every quality gate, then the whole test suite on memory, SQLite and PostgreSQL
#   make lint    ruff (lint and format check)     make fix     ruff, fixing what it can
#   make types   mypy --strict on src/             make imports import-linter contracts
#   make docs    build the docs site, strictly     make demo    migrate, seed and serve a demo shop
#   make bench   benchmarks against raw drivers    make clean   delete build and cache output
#
# PostgreSQL tests use $BOOKSHOP_TEST_POSTGRES_URL, or start a throwaway server from the local
# PostgreSQL binaries (as the postgres user when run as root). Without either they are skipped,
# unless $CI is set: then they fail.

# Python 3.11 or newer; python3.11 when the machine has it, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tests run in parallel (pytest-xdist); `make pytest PYTEST_ARGS=` runs them in one process.
PYTEST_ARGS ?= -n auto

.DEFAULT_GOAL := help
.PHONY: help venv test check lint fix types imports docs pytest demo bench clean distclean

help:
	@sed -n '1,/^$$/p' $(MAKEFILE_LIST)

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: check pytest

check: lint types imports docs

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fix: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

types: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

docs: venv
	@if [ -f mkdocs.yml ]; then \
		echo "$(BIN)/mkdocs build --strict --quiet"; \
		NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet; \
	else \
		echo "docs: no mkdocs.yml yet, nothing to build"; \
	fi

pytest: venv
	$(BIN)/pytest $(PYTEST_ARGS)

demo: venv
	$(BIN)/bookshop migrate
	$(BIN)/bookshop seed-demo
	$(BIN)/bookshop serve

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf site build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
