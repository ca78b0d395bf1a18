# Two commands: `make run` (console with demo data on SQLite) and `make test` (whole suite).
VENV   := .venv
BIN    := $(VENV)/bin
PYTHON ?= python3
PORT   ?= 5000
export FLASK_APP := app

.PHONY: run test bench clean

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
	$(BIN)/flask seed-demo-if-empty
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) instance/wangban.sqlite3*
