# Two commands: `make demo` runs the museum with demo data; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint test-postgres test-browser

$(BIN)/museum: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,browser]'
	touch $@

demo: $(BIN)/museum
	$(BIN)/museum demo

test: $(BIN)/museum
	$(BIN)/pytest -q

lint: $(BIN)/museum
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The same suite on PostgreSQL: MUSEUM_TEST_DATABASE_URL=postgresql://user@host/db (its schema is replaced).
test-postgres: $(BIN)/museum
	@test -n "$$MUSEUM_TEST_DATABASE_URL" || (echo "set MUSEUM_TEST_DATABASE_URL" && exit 2)
	$(BIN)/pytest -q

# Headless Chromium from the system (/usr/bin/chromium).
test-browser: $(BIN)/museum
	MUSEUM_BROWSER_TESTS=1 $(BIN)/pytest -q tests/browser
