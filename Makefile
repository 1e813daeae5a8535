# Every target bootstraps .venv from requirements.lock first (a no-op when it is up to date).
PY := .venv/bin/python
CATALOG ?= catalogs/demo
CONFIG ?= configs/demo.toml

.PHONY: venv demo demo-recurring live lint test test-fast bench catalog clean

venv:
	@bash scripts/bootstrap.sh

catalog: venv
	@if [ -d "$(CATALOG)/data" ]; then echo "catalog: $(CATALOG) exists (make clean to rebuild)"; \
	else $(PY) -m data.generate --profile demo --out $(CATALOG); fi

demo: catalog
	$(PY) run_backtest.py --config $(CONFIG) --catalog $(CATALOG)

demo-recurring: catalog
	$(PY) run_backtest.py --config configs/recurring_demo.toml --catalog $(CATALOG)

# The paper node with the web UI on 127.0.0.1:$(PORT) (default 8000); prints the URL and a fresh admin token.
live: catalog
	@bash scripts/live.sh

# Lint, format, types and the layer contract, then the whole suite; test-fast is the unit tests alone.
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	.venv/bin/lint-imports --no-cache

test: lint
	$(PY) -m pytest -q

test-fast: venv
	$(PY) -m pytest -q -m "not slow and not browser"

bench: venv
	$(PY) -m bench

clean:
	rm -rf catalogs reports
