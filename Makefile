# Developer and CI entry points for alarm-digest: `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Keep the steps of `test` in order even under `make -j`.
.NOTPARALLEL:

VENV_BIN := $(CURDIR)/.venv/bin
# The MongoDB-wire test server from .venv, and nats-server (Debian puts it in /usr/sbin).
TEST_ENV := SECANTUSD="$(VENV_BIN)/secantusd-py" PATH="$(VENV_BIN):$$PATH:/usr/sbin"

.PHONY: help run tools lint test bench bench-store build compose-check

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
	cargo clippy --all-targets -- -D warnings

test: tools lint ## tools, lint, all tests, then a quick run of the benchmark
	$(TEST_ENV) cargo test --lib --bins --tests -- --show-output
	$(TEST_ENV) BENCH_QUICK=1 cargo bench --bench service

bench: tools ## Ceilings, ingest, digest latency and memory; writes docs/BENCHMARKS.md
	$(TEST_ENV) cargo bench --bench service

bench-store: tools ## The store adapters' apply rates alone (SQLite FULL/NORMAL, MongoDB-wire)
	$(TEST_ENV) cargo bench --bench store_apply

build: ## Release build
	cargo build --release

compose-check: ## Validate docker-compose.yml, if there is one
	@if [ -f docker-compose.yml ]; then \
		scripts/ensure-tools.sh compose >/dev/null; \
		docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml: ok"; \
	else \
		echo "no docker-compose.yml; nothing to check"; \
	fi
