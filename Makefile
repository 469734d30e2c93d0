# The one task-runner file: what CI runs, and the README's quick start.
# `make run`  installs what is needed (OpenBao) and runs the main job.
# `make test` installs/builds every real server the tests need, then runs the whole suite.
SHELL := /bin/bash
CARGO ?= cargo
export BAO_BIN ?= $(shell scripts/install-openbao.sh 2>/dev/null)

.PHONY: run setup test fmt fmt-check clippy bench ci stack-build

setup:
	@scripts/install-openbao.sh >/dev/null

run: setup
	$(CARGO) run --release -p e2e -- run

stack-build:
	@crates/stack/build-stack.sh

test: setup stack-build
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: setup
	$(CARGO) bench --workspace

ci: fmt-check clippy test
