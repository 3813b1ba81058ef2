# Dripfeed: two commands on a fresh machine.
#   make run    install what is missing, build (debug), serve on http://127.0.0.1:3000
#   make test   install what is missing, then every check and test (see `test` below)
#   make release   the same as `make run` with an optimised server and WASM bundle
#
# Build output lives outside the clone so rebuilds are incremental across clones.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CARGO_TARGET_DIR ?= $(HOME)/.cache/dripfeed/target
# Where npm-installed build tools go (not exported: the app reads DRIPFEED_*).
TOOLS_DIR ?= $(HOME)/.cache/dripfeed/tools
# npm's wasm-opt first: Debian's binaryen 108 breaks hydration.
export PATH := $(TOOLS_DIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# cargo-leptos exports these while it builds; setting the same values for plain
# cargo keeps both on one set of compiled dependencies instead of rebuilding.
export LEPTOS_OUTPUT_NAME := dripfeed
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_SITE_PKG_DIR := pkg
export LEPTOS_SITE_ADDR := 127.0.0.1:3000
export LEPTOS_RELOAD_PORT := 3001

E2E_PORT ?= 3100
# The integration suite runs once more with the wall clock pinned to each of
# these (UTC): the last week of December's holidays, and a leap day a fortnight
# before a DST change. Tests must not depend on the date they run on.
PINNED_DATES ?= 2026-12-28T15:00:00 2028-02-28T15:00:00

.PHONY: help run release watch site test tools tools-test layers fmt-check clippy test-sqlite test-dates test-postgres crosscheck api-contract e2e bench bench-engine bench-web bench-hydration bench-backtest bench-sweep fuzz

help:
	@echo "make run      build and serve Dripfeed on http://127.0.0.1:3000"
	@echo "make release  the same, optimised (what to deploy)"
	@echo "make watch    rebuild on change (installs cargo-leptos the first time, ~25 minutes)"
	@echo "make test   run every check and test (SQLite; PostgreSQL too when TEST_POSTGRES_URL is set)"
	@echo "make bench  every benchmark in README's Performance section (PostgreSQL legs when BENCH_POSTGRES_URL is set)"
	@echo "make fuzz   the parsers' and server functions' fuzz suites with many more cases than make test"

tools:
	@TOOLS_DIR="$(TOOLS_DIR)" .ci/tools.sh build

tools-test:
	@TOOLS_DIR="$(TOOLS_DIR)" .ci/tools.sh test

run: tools
	.ci/site.sh dev
	"$(CARGO_TARGET_DIR)/debug/dripfeed" serve

release: tools
	.ci/site.sh release
	"$(CARGO_TARGET_DIR)/release/dripfeed" serve

site: tools
	.ci/site.sh dev

watch: tools
	@TOOLS_DIR="$(TOOLS_DIR)" .ci/tools.sh cargo-leptos
	@# cargo-leptos writes unhashed names: drop .ci/site.sh's manifest so the
	@# server links what it builds (src/server/assets.rs).
	rm -f "$(LEPTOS_SITE_ROOT)/assets.json"
	cargo leptos watch

test: layers tools-test fmt-check clippy test-sqlite test-dates test-postgres crosscheck api-contract e2e
	@echo "All checks passed."

layers:
	@echo "== layers point one way (.ci/layers)"
	.ci/layers

fmt-check:
	@echo "== cargo fmt --check"
	cargo fmt --all -- --check

clippy:
	@echo "== clippy: server (ssr) build"
	cargo clippy --locked --features ssr --all-targets -- -D warnings
	@echo "== clippy: browser (hydrate, wasm32) build"
	cargo clippy --locked --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

test-sqlite:
	@echo "== unit and integration tests on SQLite"
	env -u TEST_DATABASE_URL cargo test --locked --features ssr

test-dates:
	@for date in $(PINNED_DATES); do \
	  echo "== integration tests on SQLite as if it were $$date UTC (libfaketime)"; \
	  DRIPFEED_TEST_DATE="$${date/T/ }" CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$(CURDIR)/.ci/at-date" \
	    env -u TEST_DATABASE_URL cargo test --locked --features ssr --test api; \
	done

test-postgres:
	@if [ -n "$${TEST_POSTGRES_URL:-}" ]; then \
	  echo "== integration tests on PostgreSQL ($${TEST_POSTGRES_URL%%@*}@…)"; \
	  TEST_DATABASE_URL="$$TEST_POSTGRES_URL" cargo test --locked --features ssr --test api; \
	else \
	  echo "NOTE: the PostgreSQL leg was NOT run. To run it, point TEST_POSTGRES_URL at a server"; \
	  echo "      whose user may create databases, e.g.:"; \
	  echo "      TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres make test"; \
	fi

# The backtester against backtesting.py on the same data and rules
# (tests/crosscheck/backtesting_py.py): identical trades and final equity.
crosscheck:
	@echo "== cross-check: dripfeed backtest vs backtesting.py"
	cargo test --locked --features ssr --no-run
	"$(TOOLS_DIR)/venv/bin/python" tests/crosscheck/backtesting_py.py "$(CARGO_TARGET_DIR)/debug/dripfeed"

# The REST API on a running instance against its own OpenAPI document:
# openapi-spec-validator, then schemathesis (no 5xx, every answer documented
# and matching its schema; seeded, the seed printed).
api-contract:
	@echo "== API contract: openapi-spec-validator and schemathesis against /api/v1"
	cargo test --locked --features ssr --no-run
	"$(TOOLS_DIR)/venv/bin/python" tests/contract/api_schema.py "$(CARGO_TARGET_DIR)/debug/dripfeed" "$(TOOLS_DIR)/venv/bin/st"

e2e:
	@echo "== end-to-end tests (Playwright on /usr/bin/chromium)"
	.ci/site.sh browser
	@# The server binary the integration tests use (built by the legs above, so
	@# this is a no-op there): a plain `cargo build` would resolve dev-dependency
	@# features differently and rebuild it.
	cargo test --locked --features ssr --no-run
	data=$$(mktemp -d); trap 'rm -rf "$$data"' EXIT; \
	cd end2end && DRIPFEED_BIN="$(CARGO_TARGET_DIR)/debug/dripfeed" E2E_DATA_DIR="$$data" \
	  E2E_PORT=$(E2E_PORT) npx playwright test

# How fast pages hydrate on loopback and what the first and repeat visits
# transfer (end2end/bench/hydration.bench.ts). BENCH_SITE=release measures the
# size-optimised bundle `make release` serves; the default is `make run`'s.
BENCH_SITE ?= debug
bench-hydration: tools-test
	.ci/site.sh $(if $(filter release,$(BENCH_SITE)),browser-release,browser)
	cargo test --locked --features ssr --no-run
	data=$$(mktemp -d); trap 'rm -rf "$$data"' EXIT; \
	cd end2end && DRIPFEED_BIN="$(CARGO_TARGET_DIR)/debug/dripfeed" E2E_DATA_DIR="$$data" \
	  E2E_PORT=$(E2E_PORT) npx playwright test --config bench.config.ts

# Backtest benchmarks (README, "Backtest benchmarks"): a 20-year 10-symbol plan
# comparison, and a 400-pair sweep against backtesting.py's optimize.
bench-backtest:
	cargo bench --locked --features ssr --bench backtest

bench-sweep: tools-test
	cargo build --locked --release --features ssr --bin dripfeed
	cargo bench --locked --features ssr --bench sweep --no-run
	"$(TOOLS_DIR)/venv/bin/python" tests/benches/sweep_vs_backtesting_py.py "$(CARGO_TARGET_DIR)/release/dripfeed" \
	  "$$(ls -t $(CARGO_TARGET_DIR)/release/deps/sweep-* | grep -v '\.d$$' | head -n1)"

# Every figure in README's "Performance" section, in one run. The PostgreSQL
# legs of the engine benchmark need BENCH_POSTGRES_URL (a server whose user
# may create databases), e.g. postgres://postgres@127.0.0.1:5432/postgres.
bench: bench-engine bench-web bench-backtest bench-sweep
	$(MAKE) bench-hydration BENCH_SITE=release
	@echo "All benchmarks ran; figures above."

bench-engine:
	cargo bench --locked --features ssr --bench engine --no-run
	@echo "== engine: SQLite, 1 instance, 10,000 plans"
	env -u BENCH_DATABASE_URL cargo bench --locked --features ssr --bench engine -- --plans 10000
	@if [ -n "$${BENCH_POSTGRES_URL:-}" ]; then \
	  echo "== engine: PostgreSQL, 1 instance, 10,000 plans"; \
	  BENCH_DATABASE_URL="$$BENCH_POSTGRES_URL" cargo bench --locked --features ssr --bench engine -- --plans 10000; \
	  echo "== engine: PostgreSQL, 3 instances, 50,000 plans"; \
	  BENCH_DATABASE_URL="$$BENCH_POSTGRES_URL" cargo bench --locked --features ssr --bench engine -- --plans 50000 --instances 3; \
	else \
	  echo "NOTE: the PostgreSQL engine legs were NOT run: set BENCH_POSTGRES_URL"; \
	fi

# The bare route, a server function and the dashboard under oha, and the
# server's memory idle and loaded (tests/benches/web.rs).
bench-web:
	@TOOLS_DIR="$(TOOLS_DIR)" .ci/tools.sh bench
	cargo bench --locked --features ssr --bench web

# The fuzz suites with 100,000 cases per parser property and 200 generated
# bodies per server function (`make test` runs 2,000 and 12).
FUZZ_CASES ?= 100000
FUZZ_CALLS ?= 200
fuzz:
	DRIPFEED_FUZZ_CASES=$(FUZZ_CASES) cargo test --locked --features ssr --release --lib fuzz
	DRIPFEED_FUZZ_CALLS=$(FUZZ_CALLS) cargo test --locked --features ssr --release --test api fuzz
