# The two commands of the README: `make run` (the product, embedded default) and `make test`; `make screenshots`
# saves the browser tests' screenshots into docs/screenshots/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test screenshots lint install install-dev worker beat

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/daphne -b $(HOST) -p $(PORT) whatsapp_hub.asgi:application

test: install-dev
	$(BIN)/pytest -n 2 --dist loadfile

screenshots: install-dev
	SAVE_SCREENSHOTS=1 $(BIN)/pytest -m e2e

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

worker: install
	$(BIN)/celery -A whatsapp_hub worker --loglevel=INFO --concurrency=2

beat: install
	$(BIN)/celery -A whatsapp_hub beat --loglevel=INFO
