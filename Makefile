# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
SITE_PORT ?= 8000
# The site's public address (posters' QR codes, sitemap.xml, the dashboard's link): the site served here
# unless SITE_URL (or XFJY_SITE_URL) is given.
SITE_URL ?= $(or $(XFJY_SITE_URL),http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(SITE_PORT)/)
# The instance folder the xfjy commands use.
INSTANCE := $(or $(XFJY_INSTANCE),instance)
DEMO_VILLAGES ?= 600
DEMO_DONATIONS ?= 60000
export FLASK_APP := admin:create_app

.PHONY: run test install install-test chromium db demo serve bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# axe-core (the accessibility rules the browser tests run) comes from the npm registry, pinned; nothing
# else is fetched at test time.
AXE_VERSION ?= 4.10.3
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

# Creates the SQLite database with the real regions and demo data (once; never with DATABASE_URL: run
# `make demo` yourself), publishes the public site (once, and again when SITE_URL changed; afterwards
# 立即发布 in the admin or `xfjy publish`), then serves the admin on :$(PORT) and the site on :$(SITE_PORT).
run: install
	@$(if $(DATABASE_URL),true,test -f $(INSTANCE)/xfjy.sqlite3) || $(MAKE) --no-print-directory demo
	@{ test -e $(INSTANCE)/site && test "$$(cat $(INSTANCE)/site.url 2>/dev/null)" = '$(SITE_URL)'; } || \
		{ XFJY_SITE_URL='$(SITE_URL)' $(BIN)/xfjy publish && echo '$(SITE_URL)' > $(INSTANCE)/site.url; }
	XFJY_SITE_URL='$(SITE_URL)' $(BIN)/xfjy serve --host $(HOST) --port $(PORT) --site-port $(SITE_PORT)

demo: install
	$(BIN)/xfjy init-db
	$(BIN)/xfjy load-regions
	$(BIN)/xfjy demo --villages $(DEMO_VILLAGES) --donations $(DEMO_DONATIONS) --seed 1

# The suite runs in TEST_WORKERS processes (pytest-xdist), each test file whole in one of them: module
# fixtures are built once, and PostgreSQL schemas and temporary folders are per process.
TEST_WORKERS ?= 2
test: install-test chromium
	bash tests/services.sh
	$(BIN)/ruff check db admin site_builder tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache

# The performance bench of issue 5 (builds its own databases under /tmp; see docs/performance.md):
# `make bench` measures at 14,000 villages; `make bench BENCH_ARGS="--villages 2000"` is the quick mode.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
