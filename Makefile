# bikewatch: `make all` runs the compose stack, `make test` runs the tests; both install what
# they need. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The flows' environment (Prefect 3.9 needs fastapi<0.151; the API runs 0.165): flows/requirements.in.
FLOWS_VENV := .venv-flows
FLOWS_STAMP := $(FLOWS_VENV)/.installed
# The Prometheus Operator's schemas, for the Kubernetes target's tests (npm, package-lock.json).
CRD_SCHEMAS := tests/generator/kubernetes_crds
CRD_STAMP := $(CRD_SCHEMAS)/node_modules/.installed
API_URL ?= http://localhost:8080
PROMETHEUS_URL ?= http://localhost:9090
ALERTMANAGER_URL ?= http://localhost:9093
# The secrets `make all` wrote to secrets/ (from .env), for the API and the clients run from here;
# a value exported in the environment wins (the API and the clients read both the same way).
SECRET_ENV := $(if $(wildcard secrets/evaluate-api-key),EVALUATE_API_KEY_FILE=secrets/evaluate-api-key) \
	$(if $(wildcard secrets/alert-webhook-token),ALERT_WEBHOOK_TOKEN_FILE=secrets/alert-webhook-token)
# Debian services we install for their binaries (promtool, the native stack), not as daemons.
SERVICES := prometheus prometheus-node-exporter prometheus-alertmanager postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Compiled bytecode (in git-ignored __pycache__/) saves every run seconds of imports and pytest's
# assertion rewriting; some environments turn it off for every process.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help all compose-up stop install system-deps generate check gen-check lint fmt test unit-test train \
	api lock flows-env retrain monitor bench evaluation evaluations traffic drift-report fire-alert local local-stop reliability diff preview

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

# The service's dependencies first, exactly as the image installs them (versions and hashes from
# api/requirements.lock), so the tests run what ships; then the project and its build/dev tools.
# (pip 23.2, which some venvs start with, refuses the lock's extras in hash mode: upgraded first.)
$(STAMP): pyproject.toml api/requirements.lock
	@$(PYTHON) -m venv $(VENV) || { echo "$(PYTHON) -m venv failed: install python3-venv" \
	  "(make system-deps does), or pass PYTHON=python3.11 or newer"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r api/requirements.lock
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(FLOWS_STAMP): pyproject.toml flows/requirements.lock
	@$(PYTHON) -m venv $(FLOWS_VENV)
	$(FLOWS_VENV)/bin/python -m pip install -q --upgrade pip
	$(FLOWS_VENV)/bin/python -m pip install -q --require-hashes -r flows/requirements.lock
	$(FLOWS_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

flows-env: $(FLOWS_STAMP) ## create .venv-flows (Prefect and the service, flows/requirements.lock)

retrain: $(FLOWS_STAMP) ## the retrain flow by hand: challenger vs champion, promoted on evidence (UNTIL=YYYY-MM-DD, default: the newest labelled batch)
	$(FLOWS_VENV)/bin/python -m flows.retrain $(if $(UNTIL),--until $(UNTIL))

monitor: $(FLOWS_STAMP) ## the monitor flow: drift-report's reports and decision as Prefect tasks (CURRENT_START, CURRENT_END)
	$(FLOWS_VENV)/bin/python -m flows.monitor $(if $(CURRENT_START),--current-start $(CURRENT_START)) \
		$(if $(CURRENT_END),--current-end $(CURRENT_END))

lock: $(STAMP) ## re-pin the images' dependencies with hashes (api/, mlflow-server/requirements.lock)
	$(PY) -m pip install -q 'uv>=0.9,<1'
	$(PY) -m uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" --quiet -o api/requirements.lock -c api/lock-constraints.txt
	$(PY) -m uv pip compile mlflow-server/requirements.in --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet -o mlflow-server/requirements.lock
	$(PY) -m uv pip compile pyproject.toml flows/requirements.in --extra store --universal \
		--python-version 3.11 --generate-hashes -c api/lock-constraints.txt \
		--custom-compile-command "make lock" --quiet -o flows/requirements.lock

install: $(STAMP) ## create .venv with the project and its dev tools

$(CRD_STAMP): $(CRD_SCHEMAS)/package.json $(CRD_SCHEMAS)/package-lock.json
	cd $(CRD_SCHEMAS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps: ## install Debian's prometheus, promtool, node-exporter, alertmanager, postgresql, wrk, kubectl, npm, python3-venv if missing
	@missing=""; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v prometheus-node-exporter >/dev/null || missing="$$missing prometheus-node-exporter"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v kubectl >/dev/null || missing="$$missing kubernetes-client"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	$(PYTHON) -m ensurepip --version >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	  if [ -d /run/systemd/system ]; then \
	    started=$$(for s in $$missing; do case " $(SERVICES) " in *" $$s "*) echo $$s;; esac; done); \
	    if [ -n "$$started" ]; then \
	      echo "stopping and disabling the services the packages started (make local runs its own):" $$started; \
	      $(SUDO) systemctl disable --now $$started; \
	    fi; \
	  fi; \
	fi

generate: $(STAMP) ## write everything under generated/ (the only way those files change)
	$(PY) -m generator

preview: generate ## render dashboard layouts to generated/previews/*.svg (part of generate)

gen-check: $(STAMP) ## fail when generated/ is stale, missing files, or has untracked files
	$(PY) -m generator --check
	@untracked=$$(git ls-files --others --exclude-standard generated/ 2>/dev/null); \
	if [ -n "$$untracked" ]; then echo "generated files not committed:"; echo "$$untracked"; \
	  echo "run: git add generated/"; exit 1; fi

lint: $(STAMP) ## ruff (lint and format check), mypy, the layer contract, the dashboard lint
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(VENV)/bin/lint-imports
	$(PY) -m generator.dashboard_lint

fmt: $(STAMP) ## format the sources
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Three workers on CI's two cores: the end-to-end modules mostly wait on real `for:` durations
# and alert deliveries, and the unit tests use the cores meanwhile; the slowest tests are listed.
test: system-deps $(STAMP) $(FLOWS_STAMP) $(CRD_STAMP) ## every test, the end-to-end test included (installs what it needs)
	$(PY) -m pytest -q -n 3 --dist loadgroup --durations=15

unit-test: system-deps $(STAMP) $(FLOWS_STAMP) $(CRD_STAMP) ## every test but the end-to-end and contract runs (the inner loop)
	$(PY) -m pytest -q -n 2 --dist loadgroup -m "not e2e and not contract"

check: lint gen-check unit-test ## lint, generated-is-current, unit tests: before every commit

train: $(STAMP) ## train on the January 2011 window; register and promote it (bike-demand@champion)
	$(PY) -m api.train

api: $(STAMP) ## run the API alone under uvicorn on :8080 (registers a first model if needed)
	$(PY) -m api.train --unless-champion
	$(SECRET_ENV) $(PY) -m uvicorn api.main:app --host 127.0.0.1 --port 8080

bench: system-deps $(STAMP) ## benchmarks: /predict vs a bare app, /evaluate, generate
	$(PY) tests/bench/run.py

evaluation: $(STAMP) ## send the exam's three February weeks to API_URL/evaluate (default :8080)
	$(SECRET_ENV) $(PY) -m api.clients.evaluation --url $(API_URL)

evaluations: $(STAMP) ## list the evaluations recorded in MLflow, newest first (API_URL/evaluations)
	$(PY) -m api.clients.history --url $(API_URL)

traffic: $(STAMP) ## drive /predict with real rows (COUNT, CONCURRENCY, RATE; PERIOD=2011-07 replays a month)
	$(PY) -m api.clients.traffic --url $(API_URL) $(if $(COUNT),--count $(COUNT)) \
		$(if $(CONCURRENCY),--concurrency $(CONCURRENCY)) $(if $(RATE),--rate $(RATE)) \
		$(if $(PERIOD),--period $(PERIOD))

drift-report: $(STAMP) ## Evidently drift report and decision: January vs February 2011 (CURRENT_START, CURRENT_END)
	$(PY) -m api.evaluation.monitor $(if $(CURRENT_START),--current-start $(CURRENT_START)) \
		$(if $(CURRENT_END),--current-end $(CURRENT_END))

fire-alert: $(STAMP) ## the drift drill: a July batch to /evaluate, the alerts firing, the webhook's decision
	$(SECRET_ENV) $(PY) -m api.clients.fire_alert --url $(API_URL) --prometheus $(PROMETHEUS_URL) \
		--alertmanager $(ALERTMANAGER_URL)

# Docker Compose where it runs (checked before anything is installed), else the native stack.
all: ## the whole stack: Docker Compose where it runs, else the native stack (make local)
	@case "$$($(PYTHON) -m devtools.runtime)" in \
	  compose) $(MAKE) --no-print-directory compose-up ;; \
	  *) $(MAKE) --no-print-directory local ;; \
	esac

# bike-api waits for the one-shot `train` service, which trains only when the model volume
# holds no artifact: the first `make all` trains, later ones start at once.
compose-up: gen-check ## the compose stack: .env created on first run, generated/ current
	@$(PY) -m devtools.secrets
	docker compose up -d --build

stop: ## stop what `make all` started: the native stack, the compose stack, or both
	@stopped=; \
	if ls run/pids/*.pid >/dev/null 2>&1; then $(MAKE) --no-print-directory local-stop; stopped=1; fi; \
	if [ "$$($(PYTHON) -m devtools.runtime 2>/dev/null)" = compose ]; then \
	  [ -f .env ] && docker compose down; stopped=1; \
	fi; \
	[ -n "$$stopped" ] || echo "make stop: nothing to stop (no native stack in run/, no Docker engine)"

local: system-deps $(STAMP) $(FLOWS_STAMP) ## the same stack without Docker, on 127.0.0.1 (run/ holds logs, pids)
	$(PY) -m devtools.local start

local-stop: ## stop exactly what `make local` started
	$(PY) -m devtools.local stop

reliability: system-deps $(STAMP) $(FLOWS_STAMP) ## 10,000 /predict at c=64 on a fresh native stack, then the missing-model drill
	$(PY) tests/bench/reliability.py

diff: $(STAMP) ## semantic diff of dashboards and rules vs BASE (default: merge base); FORMAT=markdown for a PR
	$(PY) -m devtools.review diff $(if $(BASE),--base $(BASE)) --format $(or $(FORMAT),text)
