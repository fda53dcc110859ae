# Loopgate: `make run` serves on the embedded default (SQLite, jobs in-process);
# `make test` starts throwaway PostgreSQL and Redis and runs the suite on both databases.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
# The real Mermaid parser (npm `mermaid` under jsdom) that the tests check every diagram with.
MERMAID := tools/mermaid/node_modules/.package-lock.json

.PHONY: run test lint test-postgres test-sqlite openapi bench clean

$(BIN)/loopgate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/loopgate
	$(BIN)/loopgate migrate
	@echo ""
	@echo "Loopgate on http://localhost:$(PORT) (SQLite at ./loopgate.db, jobs in-process)."
	@echo "Get an admin token:   $(BIN)/loopgate token create --name me --scopes admin"
	@echo "or set LOOPGATE_ADMIN_TOKEN before 'make run'. API docs: http://localhost:$(PORT)/docs"
	@echo ""
	$(BIN)/loopgate serve --port $(PORT)

$(MERMAID): tools/mermaid/package.json tools/mermaid/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make: the Mermaid checks need Node.js 20+ with npm (apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --prefix tools/mermaid --no-audit --no-fund --loglevel=error
	touch $@

test: $(BIN)/loopgate lint $(MERMAID)
	$(BIN)/python scripts/testenv.py -- $(MAKE) --no-print-directory test-postgres test-sqlite

# The shape of the code: layers and cycles (import-linter), lint (ruff), types (mypy).
lint: $(BIN)/loopgate
	$(BIN)/lint-imports
	$(BIN)/ruff check app
	$(BIN)/mypy

test-postgres: $(MERMAID)
	LOOPGATE_TEST_BACKEND=postgres $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-sqlite: $(MERMAID)
	LOOPGATE_TEST_BACKEND=sqlite $(BIN)/python -m pytest -q $(PYTEST_ARGS)

openapi: $(BIN)/loopgate
	$(BIN)/loopgate openapi > openapi.yaml

clean:
	rm -rf $(VENV) loopgate.db loopgate.db-wal loopgate.db-shm tools/mermaid/node_modules
