# vmrepl: the two commands are `make demo` and `make test`; both run `make setup` first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
# The runner project's configuration (collections, roles, the lab inventory), for lint and tests.
export ANSIBLE_CONFIG := $(CURDIR)/project/ansible.cfg

.PHONY: setup demo test test-unit test-integration lint molecule bench lab-up lab-down clean help

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

setup: ## Install everything (Debian packages, .venv, the vcsim build); safe to repeat
	@scripts/setup.sh

demo: setup ## Start the lab and run deploy_remote on it, then print the summary
	$(BIN)/vmrepl lab up --edition remote
	$(BIN)/ansible-runner run . -p deploy_remote.yml

test: setup ## Lint, then every test (unit, lab integration, molecule)
	scripts/test.sh

lint: setup ## ruff, mypy, ansible-lint
	$(BIN)/ruff check src plugins tests benchmarks
	$(BIN)/mypy src plugins
	ANSIBLE_HOME=$(CURDIR)/.cache/ansible-home $(BIN)/ansible-lint --profile production

lab-up: setup ## Start the lab (two sites)
	$(BIN)/vmrepl lab up

lab-down: ## Stop the lab
	$(BIN)/vmrepl lab down

bench: setup ## Run the benchmarks (not part of the tests)
	$(BIN)/python -m benchmarks

clean: lab-down ## Remove the venv, caches and artifacts
	rm -rf $(VENV) .cache .lab artifacts
