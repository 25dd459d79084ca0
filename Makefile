# Undersigned: `make run` to try it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
PORT ?= 8000
HOST ?= 127.0.0.1
COMMA := ,
export PORT

.PHONY: run test install messages migrate demo serve worker worker-bulk beat lint check clean axe

# The exact versions of requirements/dev.txt (scripts/lock writes it from pyproject.toml),
# then the project itself, editable, without resolving anything again.
$(STAMP): pyproject.toml requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) messages axe

# The interface translations, compiled from locale/*/LC_MESSAGES/*.po with Babel (no GNU
# gettext needed); only catalogues changed since their last compile are redone.
messages: $(STAMP)
	$(PY) scripts/compile_messages.py

# axe-core (pinned, from the npm registry) into vendor/axe-core/ for the accessibility tests.
axe:
	@./scripts/fetch-axe

migrate: $(STAMP) messages
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py import_letter demo/fair-terms.md --admin-owns

# The embedded default: SQLite, tasks inline, emails printed here with their links.
run: export DJANGO_DEBUG ?= 1
run: demo
	@echo "Undersigned is at http://$(HOST):$(PORT)/ (emails appear in this terminal)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production web process: gunicorn serving the app and its static files.
serve: $(STAMP) messages
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py migrate --noinput
	exec $(BIN)/gunicorn config.wsgi --bind 0.0.0.0:$(PORT) --workers $${WEB_CONCURRENCY:-3} --access-logfile -

# Two workers, so a delivery PDF or a bulk job never holds up a verification email:
# `make worker` serves the "signing" queue, `make worker-bulk` the "mail" and "bulk" ones.
# QUEUES picks others (QUEUES=signing,mail,bulk: one worker for everything).
worker: QUEUES ?= signing
worker: $(STAMP) messages
	exec $(BIN)/celery -A config worker --loglevel INFO --queues $(QUEUES) --hostname $(subst $(COMMA),+,$(QUEUES))@%h --concurrency $${WORKER_CONCURRENCY:-4}

worker-bulk: $(STAMP) messages
	exec $(BIN)/celery -A config worker --loglevel INFO --queues mail,bulk --hostname bulk@%h --concurrency $${BULK_WORKER_CONCURRENCY:-2}

beat: $(STAMP)
	$(BIN)/celery -A config beat --loglevel INFO --schedule $${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}

test: $(STAMP) messages axe
	@PY=$(PY) ./scripts/test-suites

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=1 $(BIN)/mypy
	$(BIN)/djlint --lint templates accounts letters petition delivery trustlog mail

check: $(STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  DJANGO_ALLOWED_HOSTS=letters.example.org SITE_URL=https://letters.example.org \
	  EMAIL_URL=smtp+tls://mailer:secret@smtp.example.org:587 \
	  $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache

# The benchmark suite: the production stack (gunicorn, Celery, PostgreSQL, Redis, an SMTP
# sink) on this machine under load; writes bench/results/latest.{json,png}. BENCH_DURATION,
# BENCH_USERS and BENCH_BIG tune it, BENCH_ARGS passes flags (e.g. --skip-big).
.PHONY: bench
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q wrk; } \
	    || echo "bench: could not install wrk; the read-path part will be skipped"; \
	else echo "bench: wrk is missing (as root: apt-get install wrk); the read-path part will be skipped"; fi
	$(PY) bench/run.py $(BENCH_ARGS)

# The documentation site (docs/, mkdocs.yml) into site/; --strict makes any warning, such
# as a broken link, fail. The API reference and benchmark tables are written at build time.
.PHONY: docs
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	@touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
