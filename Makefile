# The two commands of the README: `make run` and `make test` (plus `make bench`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: install run test test-packages bench check clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test,postgres,redis]"
	@touch $@

install: $(VENV)/.installed

# Set up everything, then serve on http://127.0.0.1:$(PORT) with the worker beside it; Ctrl-C stops both.
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input -v0
	$(PY) manage.py load_demo
	$(PY) manage.py setup_schedules
	$(PY) manage.py ensure_admin
	@echo "Serving on http://127.0.0.1:$(PORT) (Ctrl-C stops the server and the worker)"
	@trap 'kill 0' INT TERM; \
	  $(PY) manage.py qcluster & \
	  $(PY) manage.py runserver --noreload 127.0.0.1:$(PORT) & \
	  wait

test: install test-packages
	$(PY) -m pytest $(PYTEST_ARGS)

# Chromium and Dovecot for the browser and IMAP tests: installed when missing and this user can (tools/test-packages).
test-packages:
	@tools/test-packages

bench: install
	$(PY) bench/run_all.py

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) staticfiles artifacts
