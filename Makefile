# Panjereh: day-to-day commands. `make help` lists them.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# requirements.lock pins every version; `make lock` can create it when it is missing
LOCK := $(wildcard requirements.lock)
# pytest-xdist workers: one per core, at least 1 and at most 8 (override: make test PYTEST_WORKERS=4)
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 8 ] && n=8; [ "$$n" -lt 1 ] && n=1; echo $$n)

.DEFAULT_GOAL := help
.PHONY: help venv lock frontend frontend-check openapi system-deps run check test bench corpus clean distclean

# help: list the targets
help:
	@echo "make venv         create .venv and install the package with its dev extras"
	@echo "make lock         regenerate requirements.lock from pyproject.toml"
	@echo "make frontend     build the agent console (frontend/) if it exists"
	@echo "make frontend-check  the console's API schema is current; tsc and eslint"
	@echo "make openapi      regenerate the console's API client from the app's OpenAPI schema"
	@echo "make system-deps  install the Debian packages the tests need"
	@echo "make run          serve on http://127.0.0.1:8000 (PORT=8001 for another port; migrates ./data/panjereh.db first)"
	@echo "make check        ruff, ruff format, mypy, import-linter"
	@echo "make test         check, then the whole test suite (PYTEST_WORKERS=N)"
	@echo "make bench        ingestion benchmark"
	@echo "make corpus       copy ../shared/corpus into tests/corpus"
	@echo "make clean        remove caches and build output (keeps .venv and data/)"
	@echo "make distclean    clean, and remove .venv and frontend/node_modules"

# venv: the virtualenv, reinstalled only when pyproject.toml or requirements.lock changed
venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -e '.[dev]' $(if $(LOCK),-c $(LOCK))
	touch $@

# lock: pin every dependency (dev extras included) into requirements.lock; the index and
# find-links of this machine's pip config are left out so the file works anywhere
lock: $(STAMP)
	$(BIN)/pip-compile --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# frontend: install the console's npm packages and build it (nothing to do without
# frontend/package.json); `npm ci` runs only when the lock changed, the build only when a
# source did
FRONTEND := frontend
FRONTEND_SRC := $(shell find $(FRONTEND)/src $(FRONTEND)/index.html $(FRONTEND)/vite.config.ts \
	$(FRONTEND)/vite.widget.config.ts $(FRONTEND)/scripts \
	$(FRONTEND)/tsconfig.json -type f 2>/dev/null)
NPM_STAMP := $(FRONTEND)/node_modules/.installed
BUILD_STAMP := $(FRONTEND)/dist/.built

frontend:
	@if [ -f $(FRONTEND)/package.json ]; then \
		$(MAKE) --no-print-directory $(BUILD_STAMP); \
	else \
		echo "frontend: no frontend/package.json, nothing to build"; \
	fi

$(NPM_STAMP): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

$(BUILD_STAMP): $(NPM_STAMP) $(FRONTEND_SRC)
	cd $(FRONTEND) && npm run build
	touch $@

# frontend-check: the committed API schema and client types match the app; types and lint
frontend-check: venv $(NPM_STAMP)
	$(BIN)/python scripts/openapi.py --check
	cd $(FRONTEND) && npm run --silent check:schema && npm run --silent check

# openapi: regenerate frontend/src/api/openapi.json and schema.d.ts from create_app()
openapi: venv $(NPM_STAMP)
	$(BIN)/python scripts/openapi.py
	cd $(FRONTEND) && npm run --silent openapi

# system-deps: PostgreSQL, Redis, Dovecot and Chromium from Debian (no services started)
system-deps:
	bash scripts/install-system-deps.sh

# run: everything embedded (SQLite in ./data, in-process events and jobs) on 127.0.0.1:8000
# PORT=8001 make run when 8000 is taken; the public URL (webhooks, the widget's script on
# /demo) follows the port unless PANJEREH_PUBLIC_URL says otherwise.
PORT ?= 8000
run: venv frontend
	PANJEREH_PUBLIC_URL="$${PANJEREH_PUBLIC_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/panjereh serve --port $(PORT)

# check: lint, formatting, types and import boundaries
check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# test: static checks, then the whole suite in parallel against real servers
test: system-deps venv frontend check frontend-check
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# bench: ingestion benchmark
bench: venv
	$(BIN)/python bench/ingest.py

# corpus: copy the shared corpus of real payloads into tests/corpus (CI has only the copy)
corpus:
	rm -rf tests/corpus/email tests/corpus/telegram tests/corpus/twilio
	cp -a ../shared/corpus/email ../shared/corpus/telegram ../shared/corpus/twilio \
		../shared/corpus/SOURCES.md tests/corpus/

# clean: caches and build output; never touches data/ or .venv
clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info frontend/dist test-artifacts
	find . -path ./.venv -prune -o -path ./frontend/node_modules -prune -o \
		-name __pycache__ -type d -exec rm -rf {} +

# distclean: clean, plus the virtualenv and the npm packages
distclean: clean
	rm -rf $(VENV) frontend/node_modules
