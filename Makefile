# Wiredesk: `make run` (demo end to end), `make test` (the whole suite), `make airflow` (Airflow 3 locally), `make stop`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WIREDESK := $(BIN)/wiredesk
MODEL := models/event-type

.PHONY: run test stop install model

# Reinstalls only when requirements.txt or pyproject.toml change.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# The event-type classifier is rebuilt from the committed corpus when missing or stale
# (seeded; several minutes on 2 CPU cores).
$(MODEL)/config.json: $(wildcard data/classifier/train/*.jsonl) pipeline/taxonomy.yaml pipeline/train.py | $(VENV)/.installed
	$(WIREDESK) train --output $(MODEL)

model: $(MODEL)/config.json

run: install model
	$(WIREDESK) db start
	$(WIREDESK) db migrate
	$(WIREDESK) demo

test: install model
	$(BIN)/pytest -q

# Airflow 3 in the background (LocalExecutor) with the DAGs on their schedules, over the local
# Postgres; prints the UI address and the login. `make stop` stops it.
.PHONY: airflow
airflow: install model
	$(WIREDESK) db start
	$(WIREDESK) db migrate
	$(WIREDESK) airflow start

stop:
	@if [ -x $(WIREDESK) ]; then $(WIREDESK) airflow stop; $(WIREDESK) db stop; fi
