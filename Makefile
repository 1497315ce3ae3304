# Wiredesk: `make run` (demo end to end), `make test` (the whole suite), `make stop`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WIREDESK := $(BIN)/wiredesk

.PHONY: run test stop install

# Reinstalls only when requirements.txt or pyproject.toml change.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(WIREDESK) db start
	$(WIREDESK) db migrate
	$(WIREDESK) demo

test: install
	$(BIN)/pytest -q

stop:
	@if [ -x $(WIREDESK) ]; then $(WIREDESK) db stop; fi
