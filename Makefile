# make run  - set up and start the whole app (web + Celery worker + beat) on embedded defaults
# make test - set up and run ruff and the whole test suite against PostgreSQL and Redis
#             then the clash tests (marked sqlite_too) again on SQLite, the embedded default
# make serve - production: gunicorn + Celery worker + beat on DATABASE_URL and REDIS_URL
#             (README "Running in production")
# make bench - build the 100k-client and 1k-client bench databases and django-appointment's,
#             serve them with gunicorn, load them with wrk and write docs/benchmarks.md
#             (not part of make test; BENCH_ARGS="--clients 2000 --no-docs" for a quick try)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_HOST ?= 127.0.0.1
TEST_DATABASE_URL ?= postgres://postgres@$(PG_HOST):5432/clinic
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test install services lint migrate seed clean var browser serve serve-env bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

var:
	mkdir -p var/emails var/private var/staticfiles var/celery/broker var/celery/control
	@if [ -n "$$CLINIC_VAR_DIR" ]; then mkdir -p "$$CLINIC_VAR_DIR" && cd "$$CLINIC_VAR_DIR" && mkdir -p emails private staticfiles celery/broker celery/control; fi

migrate: install var
	$(BIN)/python manage.py migrate --no-input

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "  Clinic app: http://127.0.0.1:$${WEB_PORT:-8000}/   (API docs: /api/docs/, admin for managers: /admin/)"
	@echo "  Log in with one of the demo logins printed above."
	@echo "  Emails are written to $(CURDIR)/var/emails"
	@echo "  Ctrl-C stops the web server, the Celery worker and Celery beat."
	@echo ""
	$(BIN)/honcho start -f Procfile

# Production needs its database and broker named (in the environment or .env).
serve-env:
	@test -n "$$DATABASE_URL" || grep -qs '^DATABASE_URL=.' .env || { echo "make serve: set DATABASE_URL (e.g. postgres://clinic:PASSWORD@db-host:5432/clinic); see the README, 'Running in production'." >&2; exit 2; }
	@test -n "$$REDIS_URL" || grep -qs '^REDIS_URL=.' .env || { echo "make serve: set REDIS_URL (e.g. redis://redis-host:6379/0); see the README, 'Running in production'." >&2; exit 2; }

# Pages name the hashed, compressed copies collectstatic writes (whitenoise serves them).
# SERVE_PROCESSES="web worker" on every machine but one: only one Celery beat.
serve: export STATIC_COLLECTED ?= true
serve: serve-env install var
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity=0
	$(BIN)/honcho start -f Procfile.prod $(SERVE_PROCESSES)

services:
	@pg_isready -h $(PG_HOST) -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -h $(PG_HOST) -p 5432 -q && break; sleep 1; done
	@psql -h $(PG_HOST) -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='clinic'" | grep -q 1 || createdb -h $(PG_HOST) -U postgres clinic
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done

# Browser journeys drive Debian's Chromium (Playwright's own download cannot work here).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install services var browser lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest --create-db $(PYTEST_ARGS)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 $(BIN)/pytest -m sqlite_too -p no:cacheprovider

# wrk is Debian's package (a C load generator: little CPU next to the servers it measures).
bench: install services var
	@test -x /usr/bin/wrk || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
