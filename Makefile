# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_VILLAGES ?= 600
DEMO_DONATIONS ?= 60000
export FLASK_APP := admin:create_app

.PHONY: run test install install-test chromium db demo serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e .
	touch $@

# axe-core (the accessibility rules the browser tests run) comes from the npm registry, pinned; nothing
# else is fetched at test time.
AXE_VERSION ?= 4.10.3
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION)
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The browser tests (tests/test_browser.py) drive Debian's Chromium through Playwright; no browser is ever
# downloaded (never `playwright install`). CI runs as root; elsewhere apt-get goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && \
		$(SUDO) apt-get install -y --no-install-recommends chromium chromium-driver fonts-noto-cjk; }

# Creates the SQLite database with the real regions and demo data (once), publishes the public site
# (once; afterwards 立即发布 in the admin or `xfjy publish`), then serves the admin on :5000 and the
# site on :8000.
SITE_PORT ?= 8000
run: install
	@test -f instance/xfjy.sqlite3 || $(MAKE) --no-print-directory demo
	@test -e instance/site || $(BIN)/xfjy publish
	$(BIN)/xfjy serve --host $(HOST) --port $(PORT) --site-port $(SITE_PORT)

demo: install
	$(BIN)/xfjy init-db
	$(BIN)/xfjy load-regions
	$(BIN)/xfjy demo --villages $(DEMO_VILLAGES) --donations $(DEMO_DONATIONS) --seed 1

test: install-test chromium
	bash tests/services.sh
	$(BIN)/ruff check db admin site_builder tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache

# The performance bench of issue 5 (builds its own databases under /tmp; see docs/performance.md):
# `make bench` measures at 14,000 villages; `make bench BENCH_ARGS="--villages 2000"` is the quick mode.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
