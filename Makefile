# Developer and CI entry points for alarm-digest: `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Keep the steps of `test` in order even under `make -j`.
.NOTPARALLEL:

VENV_BIN := $(CURDIR)/.venv/bin
# The MongoDB-wire test server and the current nats-server from .venv (first on the PATH).
TEST_ENV := SECANTUSD="$(VENV_BIN)/secantusd-py" PATH="$(VENV_BIN):$$PATH:/usr/sbin"
# The oldest supported nats-server (Debian's 2.9.10), for the smoke set of e2e scenarios.
OLDEST_NATS := $(firstword $(wildcard /usr/sbin/nats-server /usr/bin/nats-server) nats-server)
# The e2e scenarios also run on the oldest server: one per feature the service relies on.
E2E_SMOKE := readme_example out_of_order_and_duplicates_on_sqlite no_repeat_on_sqlite \
	a_crash_between_publish_and_record nats_server_restart_mid_stream garbage_on_every_subject \
	core_queue_group acknowledgements_are_recorded_once a_digest_over_the_max_payload \
	pager_escalates_level_by_level stream_replicas

.PHONY: help run tools lint check test soak-cluster bench bench-store profile build compose-check

help: ## List the targets
	@echo "Targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		sed -E 's/^([a-zA-Z_-]+):.*## (.*)$$/  \1\t\2/' | expand -t 18

run: ## Start a local nats-server and run the service (scripts/run-local.sh)
	scripts/run-local.sh

tools: ## Install what the tests need, where missing (scripts/ensure-tools.sh)
	scripts/ensure-tools.sh

lint: ## cargo fmt --check and clippy with warnings denied
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

check: tools lint ## The quick gate: lint, unit and property tests, the store contract suite
	$(TEST_ENV) cargo test --workspace --lib --bins --test store_contract

test: tools lint ## tools, lint, all tests incl. the console in headless Chromium (current nats-server), the smoke set (oldest), a quick bench
	@echo "make test: the whole suite on nats-server $$($(VENV_BIN)/nats-server --version)"
	$(TEST_ENV) cargo test --workspace --lib --bins --tests -- --show-output
	@echo "make test: the e2e smoke set on the oldest supported nats-server, $$($(OLDEST_NATS) --version)"
	$(TEST_ENV) NATS_SERVER="$(OLDEST_NATS)" cargo test --test e2e -- --show-output $(E2E_SMOKE)
	$(TEST_ENV) BENCH_QUICK=1 cargo bench --bench service

soak-cluster: tools ## Every cluster fault scenario SOAK_RUNS times (default 20), fresh seeds, cores loaded
	$(TEST_ENV) scripts/soak-cluster.sh

# perf, when installed, profiles two ingest setups a second time (about half a minute more).
BENCH_PROFILE ?= $(if $(shell command -v perf),1,0)

bench: tools ## Ceilings and, in the same run, adapters, ingest, digests, memory, MongoDB commands; writes docs/BENCHMARKS.md
	$(TEST_ENV) BENCH_PROFILE=$(BENCH_PROFILE) cargo bench --bench service

bench-store: tools ## The store adapters' apply rates alone, each against its engine's plain ceiling
	$(TEST_ENV) cargo bench --bench store_apply

profile: tools ## make bench with the perf profile forced on (perf record -g, fsync counts)
	$(TEST_ENV) BENCH_PROFILE=1 cargo bench --bench service

build: ## Release build
	cargo build --release

compose-check: ## Validate docker-compose.yml, if there is one
	@if [ -f docker-compose.yml ]; then \
		scripts/ensure-tools.sh compose >/dev/null; \
		docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml: ok"; \
	else \
		echo "no docker-compose.yml; nothing to check"; \
	fi
