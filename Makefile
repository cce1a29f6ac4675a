# Quick start: `make run` serves the demo at http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium
FIELDLOG_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export FIELDLOG_TEST_POSTGRES_URL

.PHONY: run test test-sqlite test-postgres install chromium lint bench migrations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	FIELDLOG_DEMO=$${FIELDLOG_DEMO:-true} $(BIN)/fieldlog serve

# Debian's Chromium drives the browser tests; Playwright's own browser download is not used.
chromium:
	@test -x $(CHROMIUM) || { \
		echo "Installing Debian's chromium (browser tests need it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

test: install chromium
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: install
	FIELDLOG_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgres: install
	FIELDLOG_TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check server tests bench && $(BIN)/ruff format --check server tests bench

bench: install chromium
	$(BIN)/python bench/sync_push.py
	$(BIN)/python bench/pwa_load.py

# Writes a new migration from the tables' current shape (commit the file it makes).
migrations: install
	PICCOLO_CONF=server.piccolo_conf $(BIN)/piccolo migrations new fieldlog --auto

clean:
	rm -rf $(VENV) data .pytest_cache
