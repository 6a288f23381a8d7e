#!/usr/bin/env bash
# The test command (`make test`, and CI through .ci/run): lint, unit tests, lab integration
# tests, molecule. Starts nothing it does not stop.
set -euo pipefail
cd "$(dirname "$0")/.."
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
# Keep the tests' lab apart from a lab a developer may have running.
export VMREPL_LAB_DIR="${VMREPL_LAB_DIR:-$PWD/.cache/test-lab}"

step() { printf '\n== %s\n' "$*"; }

step "ruff"
ruff check src plugins tests benchmarks
step "mypy"
mypy src plugins
step "ansible-lint (production profile)"
ansible-lint --offline --profile production
step "pytest"
pytest -q -p no:cacheprovider tests
step "molecule (remote and local on the lab)"
for scenario in remote local; do
  molecule test -s "$scenario"
done
