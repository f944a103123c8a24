# Two commands matter: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# Strict editable install: a link tree that mypy and pytest read like an installed package.
# It only sees files present at install time, so the stamp changes whenever the file list does.
SOURCES := $(shell find shared services -name '*.py' -o -name '*.sql' 2>/dev/null | sort | cksum | cut -d' ' -f1)
STAMP   := $(VENV)/.installed-$(SOURCES)

# Demo keys for the example tenants of config/tenants (local use only; see config/tenants/README.md).
export DEMO_LOYALTY_API_KEY   ?= demo-loyalty-key
export DEMO_AFFILIATE_API_KEY ?= demo-affiliate-key
export DEMO_ORDERS_API_KEY    ?= demo-orders-key
export DEMO_CRM_API_KEY       ?= demo-crm-key
export DEMO_CRM_MANAGER_KEY   ?= demo-crm-manager-key
export DEMO_STORE_API_KEY     ?= demo-store-key

.PHONY: install run demo test test-unit lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(BIN)/orderflow run

demo: install
	$(BIN)/python -m demo

test: install
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p orderflow.shared -p orderflow.services

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .data .pytest_cache .mypy_cache .ruff_cache .hypothesis
