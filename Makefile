# The two commands a newcomer needs: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.qgov-installed

.PHONY: install demo test lint bench clean up down

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "qgov needs Python 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/qgov demo

test: install
	bash scripts/test.sh

# The lab stack (scripts/stack.sh; README "Scaling out"): `make up`, then `source .stack/stack.env`.
STACK ?= .stack
up: install
	bash scripts/stack.sh up $(STACK)

down:
	bash scripts/stack.sh down $(STACK)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict qgov storage lineage policies
	$(BIN)/lint-imports

bench: install
	$(BIN)/python benchmarks/classify.py
	$(BIN)/python benchmarks/screening.py
	$(BIN)/python benchmarks/screening_quality.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/lineage.py
	$(BIN)/python benchmarks/anomaly.py
	$(BIN)/python benchmarks/web.py
	$(BIN)/python benchmarks/cli_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
