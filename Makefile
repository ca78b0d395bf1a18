# `make run` (console with demo data on SQLite), `make test` (whole suite),
# `make serve` (production: migrations, then gunicorn on DATABASE_URL and REDIS_URL).
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3
PORT   ?= 5000
export FLASK_APP := app

.PHONY: run serve worker scheduler test bench load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask load-catalogue
	$(BIN)/flask seed-demo-if-empty
	BIND=$${BIND:-127.0.0.1:$(PORT)} $(BIN)/gunicorn -c gunicorn.conf.py

# Production: settings from the environment (README, Production); refuses SQLite or no SECRET_KEY.
serve: $(VENV)/.installed
	WANGBAN_ENV=$${WANGBAN_ENV:-production} $(BIN)/python -m settings
	WANGBAN_ENV=$${WANGBAN_ENV:-production} $(BIN)/flask db upgrade
	WANGBAN_ENV=$${WANGBAN_ENV:-production} $(BIN)/flask load-catalogue
	WANGBAN_ENV=$${WANGBAN_ENV:-production} exec $(BIN)/gunicorn -c gunicorn.conf.py

# Background jobs (long imports, exports, scheduled work) from Redis; as many as you like,
# on any machine sharing DATABASE_URL, REDIS_URL and the upload store. Needs REDIS_URL.
worker: $(VENV)/.installed
	WANGBAN_ENV=$${WANGBAN_ENV:-production} exec $(BIN)/flask worker

# The scheduled work's clock (RQ's cron): enqueues it for the workers. Run one.
scheduler: $(VENV)/.installed
	WANGBAN_ENV=$${WANGBAN_ENV:-production} exec $(BIN)/flask scheduler

test: $(VENV)/.installed-test
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run

load: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.load $(ARGS)

clean:
	rm -rf $(VENV) instance/wangban.sqlite3*
