# jobdesk: `make run` serves a demo on http://127.0.0.1:8000, `make test` runs the whole suite.
# `make serve` runs it as in production; `make schema` regenerates schema.yml after an API
# change; `make worker` runs a task worker.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Which interpreter .venv must be made of: a venv of another one is made again.
PYTHON_ID_CODE := import hashlib, sys; print("%s-%d.%d.%d-%s" % (sys.implementation.name, \
	*sys.version_info[:3], hashlib.sha256(sys.base_prefix.encode()).hexdigest()[:8]))
PYTHON_ID := $(shell $(PYTHON) -c '$(PYTHON_ID_CODE)' 2>/dev/null)
STAMP := $(VENV)/.installed-$(PYTHON_ID)
HOST ?= 127.0.0.1
PORT ?= 8000
# `make serve`'s events process (uvicorn: event streams and `?wait=` reads), and how many
# connections it holds at most (the open-file limit must allow them: docs/deployment.md).
EVENTS_PORT ?= 8001
EVENTS_MAX_CONNECTIONS ?= 10000
CHROMIUM := /usr/bin/chromium

.PHONY: install system-deps run serve worker test test-quick schema lint format

install: $(STAMP) .env

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON_ID)" ]; then echo "$(PYTHON) does not run: set PYTHON to Python 3.11, 3.12 or 3.13"; exit 1; fi
	@if [ -e $(VENV) ] && [ "$$($(PY) -c '$(PYTHON_ID_CODE)' 2>/dev/null)" != "$(PYTHON_ID)" ]; then \
		echo "$(VENV) was not made by $(PYTHON): making it again"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The demo's handlers of ROMA's import, export and delete (asset_jobs/tasks.py).
DEMO_ASSET_JOB_HANDLERS := {"importAsset": "asset_jobs.tasks.demo_import_assets", "exportAsset": "asset_jobs.tasks.demo_export_assets", "deleteAsset": "asset_jobs.tasks.demo_delete_assets"}

# A development checkout's settings (docs/deployment.md): debug on and a secret key of its own.
.env:
	@umask 077 && printf '%s\n' \
		"# This checkout's development settings, written by make install; real environment" \
		"# variables win, and a deployment that sets DJANGO_SECRET_KEY does not read this file." \
		"DJANGO_DEBUG=1" \
		"DJANGO_SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
	@echo "Wrote .env: DJANGO_DEBUG=1 and a generated development secret key"

# Processes run together by honcho (Procfile.dev, Procfile) from the venv, stopped together
# on Ctrl-C or SIGTERM. honcho reads no .env: settings do (docs/deployment.md).
HONCHO := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" HOST=$(HOST) PORT=$(PORT) \
	EVENTS_PORT=$(EVENTS_PORT) EVENTS_MAX_CONNECTIONS=$(EVENTS_MAX_CONNECTIONS) \
	$(VENV)/bin/honcho --env /dev/null

run: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input
	DJANGO_DEBUG=1 $(PY) manage.py demo --base-url http://$(HOST):$(PORT)
	DJANGO_DEBUG=1 $(PY) manage.py demo_tasks
	@echo "Serving jobdesk on http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "A task worker and the scheduler run beside the server; the demo tasks report progress for a minute."
	JOBDESK_ASSET_JOB_HANDLERS='$(DEMO_ASSET_JOB_HANDLERS)' DJANGO_DEBUG=1 \
		$(HONCHO) --procfile Procfile.dev start

# Production: migrate (with no statement timeout: a migration may outlast a request's), collect
# static files, then gunicorn (config/gunicorn.py), uvicorn for event streams and waits on
# EVENTS_PORT, a task worker and the scheduler (Procfile). Never reads .env: the environment
# must hold the production settings (docs/deployment.md). Their metrics meet in METRICS_DIR,
# emptied at each start.
METRICS_DIR ?= $(CURDIR)/.metrics
serve: export DJANGO_ENV_FILE := $(DJANGO_ENV_FILE)
serve: install
	JOBDESK_DATABASE_STATEMENT_TIMEOUT_SECONDS=0 $(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input --verbosity 0
	rm -rf "$(METRICS_DIR)" && mkdir -p "$(METRICS_DIR)"
	PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" $(HONCHO) --procfile Procfile start web events worker scheduler

# A task worker on its own (start more of them to run more tasks at once).
worker: install
	DJANGO_DEBUG=1 $(PY) manage.py task_worker

# The browser tests drive Debian's Chromium: install it when it is missing and we are root.
system-deps:
	@if [ -x $(CHROMIUM) ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "NOTE: $(CHROMIUM) is missing: the browser tests will skip (and fail when CI is set)."; \
		echo "      Install it with: sudo apt-get install chromium"; \
	fi

# The suite runs in one pytest-xdist worker process per core, at most TEST_MAX_WORKERS of them
# (each runs its own servers and browser beside the tests); TEST_WORKERS=0 runs it in one.
# Each worker starts on a contiguous share of the tests and an idle one takes half of what
# another has left (worksteal): the long e2e tests, handed out in large chunks by the default
# `load`, would all go to one worker while the others end early.
TEST_WORKERS ?= auto
TEST_MAX_WORKERS ?= 8
PYTEST_PARALLEL := -n $(TEST_WORKERS) --maxprocesses=$(TEST_MAX_WORKERS) --dist worksteal

test: install system-deps
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The suite without the end-to-end tests (browser, live servers, generated client, fuzzing).
test-quick: install
	$(PY) -m pytest $(PYTEST_PARALLEL) -m "not e2e" $(PYTEST_ARGS)

schema: install
	DJANGO_DEBUG=1 $(PY) manage.py spectacular --validate --fail-on-warn --file schema.yml

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Load a million jobs into a scratch PostgreSQL database and time the admin's job pages.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
.PHONY: bench-admin
bench-admin: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/admin_changelists.py $(BENCH_ARGS)

# Serve jobdesk with gunicorn (production settings) and measure its polls with wrk, beside a
# bare Django view, celery-progress' poll view and a no-op view. It needs wrk, Redis and
# PostgreSQL: bench-system-deps installs wrk (as root) and starts Redis and PostgreSQL.
BENCH_STAMP := $(VENV)/.bench-installed-stamp
PG_CLUSTER ?= 15 main
.PHONY: bench bench-system-deps

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench-system-deps: install
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing wrk for the poll benchmark (apt-get install wrk)"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
		else \
			echo "wrk is missing: install it with: sudo apt-get install wrk"; exit 1; \
		fi; \
	fi
	@if ! $(PY) -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_connect_timeout=1).ping()" 2>/dev/null; then \
		echo "Starting Redis on 127.0.0.1:6379"; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
		sleep 1; \
	fi
	@if ! pg_isready -q -h 127.0.0.1; then \
		echo "Starting PostgreSQL ($(PG_CLUSTER))"; \
		pg_ctlcluster --skip-systemctl-redirect $(PG_CLUSTER) start; \
	fi

# The poll benchmark runs from a venv of its own holding what production installs (no dev
# extra) and the bench extra, as the servers' memory would be in production: libraries import
# some packages whenever they are installed (DRF imports requests, Django's test utilities
# Jinja2), and the dev extra installs them.
BENCH_VENV ?= .venv-bench
BENCH_VENV_STAMP := $(BENCH_VENV)/.installed-$(PYTHON_ID)

$(BENCH_VENV_STAMP): pyproject.toml
	rm -rf $(BENCH_VENV)
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(BENCH_VENV_STAMP) bench-system-deps
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BENCH_VENV)/bin/python bench/poll.py $(BENCH_ARGS)

# 10,000 watchers of 1,000 changing jobs over server-sent events, `?wait=`, 1 s cached polls
# and celery-progress polls (bench/watch.py): delivery latency, server CPU and memory.
.PHONY: bench-watch
bench-watch: $(BENCH_STAMP) bench-system-deps
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/watch.py $(BENCH_ARGS)

# Run the production set-up (gunicorn from config/gunicorn.py, a task worker, the scheduler) on
# a scratch PostgreSQL database and Redis for minutes under a mixed load: throughput, errors
# by status, latency and memory before and after (BENCH_ARGS="--seconds 60" for a short one).
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
.PHONY: bench-soak
bench-soak: install bench-system-deps
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/soak.py $(BENCH_ARGS)
