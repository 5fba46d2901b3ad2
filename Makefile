# Carebridge: two commands for a newcomer.
#   make run   - set up .venv, create ./carebridge-data if missing, start everything
#   make test  - set up .venv with test tools, run ruff, mypy and pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= carebridge-data
PYTEST_ARGS ?=

.PHONY: run test lint venv venv-dev clean-data webclient

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

run: venv webclient
	@test -f $(DATA_DIR)/carebridge.yaml || $(BIN)/carebridge init --data-dir $(DATA_DIR) --org-file config/org.example.yaml
	$(BIN)/carebridge up -c $(DATA_DIR)/carebridge.yaml

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint webclient
	$(BIN)/pytest $(PYTEST_ARGS)

clean-data:
	rm -rf $(DATA_DIR)
