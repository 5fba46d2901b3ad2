# Carebridge: two commands for a newcomer.
#   make run   - set up .venv, create ./carebridge-data if missing, start everything
#   make test  - set up .venv with test tools, run ruff, mypy, the docs build and pytest
#   make docs  - build the documentation site (docs/, mkdocs.yml) into site/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= carebridge-data
TURN_PORT ?= 3478
PYTEST_ARGS ?=
# mkdocs-material prints a banner about MkDocs 2 on every build; the build itself is unaffected.
export NO_MKDOCS_2_WARNING := 1

.PHONY: run test test-fast lint docs venv venv-dev clean-data webclient system-deps bench-scale

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

webclient:
	webclient/build.sh

# Debian packages the tests drive for real: Chromium and Firefox ESR (browser tests, the
# emoji font for their screenshots) and coturn (TURN).
# Installed with apt-get when missing and we may (root); otherwise say what to install.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v turnserver >/dev/null 2>&1 || missing="$$missing coturn"; \
	command -v firefox-esr >/dev/null 2>&1 || missing="$$missing firefox-esr"; \
	fc-list 2>/dev/null | grep -qi "color emoji" || missing="$$missing fonts-noto-color-emoji"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "warning: install$$missing (Debian packages) for the browser and TURN tests"; \
	  fi; \
	fi

run: venv webclient
	@test -f $(DATA_DIR)/carebridge.yaml || $(BIN)/carebridge init --data-dir $(DATA_DIR) --turn-port $(TURN_PORT) --org-file config/org.example.yaml
	$(BIN)/carebridge up -c $(DATA_DIR)/carebridge.yaml

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mkdocs build --strict

# The documentation site, into site/ (git ignores it). --strict: a broken link or anchor fails.
docs: venv-dev
	$(BIN)/mkdocs build --strict

test: lint webclient system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# Pure tests only (tests/unit): no database, no Synapse; seconds.
test-fast: venv-dev
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

# Every administrator command at 10^4, 10^5 and 10^6 archive rows of a 5,000-person
# hospital, SQLite and (with CAREBRIDGE_TEST_PG_URL) PostgreSQL; not part of `make test`.
# Stops by itself: BENCH_MINUTES bounds the whole run (add 10000000 to BENCH_SIZES for 10^7).
BENCH_SIZES ?= 10000,100000,1000000
BENCH_MINUTES ?= 120
bench-scale: venv-dev
	$(BIN)/python bench/scale.py --sizes $(BENCH_SIZES) --max-minutes $(BENCH_MINUTES)

clean-data:
	rm -rf $(DATA_DIR)
