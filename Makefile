# Two commands matter: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# Strict editable install: a link tree that mypy and pytest read like an installed package.
# It only sees files present at install time, so the stamp changes whenever the file list does.
SOURCES := $(shell find shared services -name '*.py' -o -name '*.sql' 2>/dev/null | sort | cksum | cut -d' ' -f1)
STAMP   := $(VENV)/.installed-$(SOURCES)

# Local-only values for the ${NAME} secrets of the example tenants (config/tenants/README.md).
# Anything already set in the environment wins.
DEMO_SECRETS := DEMO_LOYALTY_API_KEY DEMO_LOYALTY_HOOK_SECRET DEMO_AFFILIATE_API_KEY \
	DEMO_AFFILIATE_HOOK_SECRET DEMO_ORDERS_API_KEY DEMO_ORDERS_STRIPE_SECRET DEMO_CRM_API_KEY \
	DEMO_CRM_SALES_KEY DEMO_CRM_HOOK_SECRET DEMO_STORE_API_KEY DEMO_STORE_SHOPIFY_SECRET \
	DEMO_STORE_WC_SECRET DEMO_STORE_HOOK_SECRET DEMO_STORE_FTP_PASSWORD
$(foreach v,$(DEMO_SECRETS),$(eval export $(v) ?= local-$(shell echo $(v) | tr 'A-Z_' 'a-z-')))

.PHONY: install run demo test test-unit lint bench chaos docs lock clean chromium wrk

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

# CI runs exactly this: lint and types first (fast), then every test on the embedded stack.
test: lint chromium
	ORDERFLOW_CHROMIUM=$(CHROMIUM) $(BIN)/pytest

# The tracking tag's browser test drives the system's Chromium (never a browser download):
# installed from the distribution when missing and apt is there; the test fails without it.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@test -x $(CHROMIUM) || echo "no Chromium at $(CHROMIUM): the browser test will fail" >&2

# `python -m bench --segments` loads the validation route from wrk (a C load generator):
# installed from the distribution when missing and apt is there; without it the bench
# falls back to aiohttp processes and says so.
wrk:
	@command -v wrk >/dev/null || ! command -v apt-get >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	@command -v wrk >/dev/null || echo "no wrk on PATH: bench --segments falls back to aiohttp" >&2

test-unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p orderflow.shared -p orderflow.services
	$(BIN)/mypy demo bench chaos tests deploy

# One run, everything printed and kept (bench/results/); `make bench BENCH_ARGS=--quick` is small.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Faults under load, one table of lost and duplicate effects (README "Chaos"); exit 1 unless
# every row has 0 of both. `make chaos CHAOS_ARGS=--quick` is tiny.
chaos: install
	$(BIN)/python -m chaos $(CHAOS_ARGS)

# The AsyncAPI 3.0 document, from each service's events.py, and what deploy/ derives from the
# same declarations (KafkaTopics, KafkaUsers, autoscalers, the dev tenants); unit tests fail
# when either is stale.
docs: install
	$(BIN)/python -m orderflow.shared.asyncapi docs/asyncapi.yaml
	$(BIN)/python -m deploy.generate

# requirements.lock: the image's runtime dependencies, every version pinned with its hashes,
# resolved from pyproject.toml keeping the pins that still fit; `make lock LOCK_ARGS=--upgrade`
# takes the newest of everything (deploy/README.md "The image").
lock: install
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
		--no-header --quiet -o requirements.lock $(LOCK_ARGS)

clean:
	rm -rf $(VENV) build .data .pytest_cache .mypy_cache .ruff_cache .hypothesis
