# The README's two commands: `make run` and `make test`. Both set everything up
# on a fresh machine: .venv, pinned dependencies, database schema, fixtures.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# A local server runs in debug mode unless told otherwise.
RUN_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1}

.PHONY: run test setup db reset lint format bench clean serve

# This checkout's own settings for manage.py (git-ignored, read only by manage.py,
# never over a variable the environment sets): a generated key and local host names,
# so `manage.py createsuperuser` and the like work without DJANGO_DEBUG.
.env:
	@printf '# Written by make for this checkout only (git-ignored); the environment wins over it.\nDJANGO_SECRET_KEY=%s\nDJANGO_ALLOWED_HOSTS=localhost,127.0.0.1,[::1]\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "wrote .env (a generated secret key for this checkout)"

$(VENV)/.deps-runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.deps-dev: requirements-dev.txt requirements.txt $(VENV)/.deps-runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# axe-core for the accessibility tests (test-only; skipped with a reason without npm).
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility tests will skip"; fi

# Loads the fixtures only into an empty catalog: a curator's edits survive every restart.
db: $(VENV)/.deps-runtime .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_catalog

# Starts the catalog over (asks first; `make reset CONFIRM=yes` in scripts). Users and roles stay.
reset: $(VENV)/.deps-runtime .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_catalog --reset $(if $(filter yes,$(CONFIRM)),--yes)

run: db
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The production stack on this machine over plain http (gunicorn behind nginx when installed).
serve: $(VENV)/.deps-runtime .env
	$(PY) deploy/serve.py --port $(PORT)

test: $(VENV)/.deps-dev node_modules/axe-core/axe.min.js db
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.deps-dev .env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# Times the import of the whole V1 archive (data/nubenetes); see bench/import_v1.py.
bench: $(VENV)/.deps-runtime
	$(PY) bench/import_v1.py $(BENCH_ARGS)

format: $(VENV)/.deps-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles screenshots .pytest_cache
