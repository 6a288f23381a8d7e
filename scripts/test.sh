#!/usr/bin/env bash
# The test command (`make test`, and CI through .ci/run): lint, unit tests, lab integration
# tests, molecule. Starts nothing it does not stop: every lab process this run starts carries
# VMREPL_TEST_RUN=<this run> in its environment; on the way out (trap on EXIT) the run stops the
# tests' lab and any such process by pid, and as its last step it fails, naming them, if a test
# left one running.
set -euo pipefail
cd "$(dirname "$0")/.."
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="$PWD/project/ansible.cfg"
# Ansible's home (its collections, galaxy cache, temporary files) inside the checkout: a copy of
# vmrepl.core that something installed into ~/.ansible/collections once would otherwise be taken
# by ansible-lint before this tree (it found an old copy there without the newer modules).
export ANSIBLE_HOME="$PWD/.cache/ansible-home"
# Keep the tests' lab apart from a lab a developer may have running.
export VMREPL_LAB_DIR="${VMREPL_LAB_DIR:-$PWD/.cache/test-lab}"
# Inherited by everything the tests start: how this run tells its own lab processes from a
# developer's lab or another run's.
VMREPL_TEST_RUN="$$-$(date +%s%N)"
export VMREPL_TEST_RUN

step() { printf '\n== %s\n' "$*"; }

# The pids of lab processes (vcsim, python -m vmrepl.lab.zvm) of this checkout or of the tests'
# lab folders that this run started (their environment carries our VMREPL_TEST_RUN).
our_lab_pids() {
  local proc pid cmd
  for proc in /proc/[0-9]*; do
    pid="${proc#/proc/}"
    [ "$pid" = "$$" ] && continue
    # (2>/dev/null first: a process that ended since the listing is not an error)
    cmd="$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline")" || continue
    case "$cmd" in
      *vcsim\ *|*"-m vmrepl.lab.zvm"*) ;;
      *) continue ;;
    esac
    case "$cmd" in
      *"$PWD"/*|*"$VMREPL_LAB_DIR"*|*/pytest-of-*) ;;
      *) continue ;;
    esac
    if tr '\0' '\n' 2>/dev/null <"$proc/environ" | grep -qxF "VMREPL_TEST_RUN=$VMREPL_TEST_RUN"; then
      echo "$pid"
    fi
  done
}

# The tests' lab ($VMREPL_LAB_DIR: molecule and the inventory plugin start it), stopped with
# `lab down` when this run started it (its recorded processes carry our mark).
stop_tests_lab() {
  [ -f "$VMREPL_LAB_DIR/state.json" ] || return 0
    python - <<'EOF' || true
import json, os, pathlib
from vmrepl.lab import manager
state = json.loads((pathlib.Path(os.environ["VMREPL_LAB_DIR"]) / "state.json").read_text())
run = "VMREPL_TEST_RUN=" + os.environ["VMREPL_TEST_RUN"]
def ours(pid):
    try:
        return run in pathlib.Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
pids = [s[p]["pid"] for s in state.get("sites", []) for p in ("zvm", "vcenter") if s.get(p, {}).get("pid")]
if pids and any(ours(pid) for pid in pids):
    manager.down()
EOF
}

stop_our_labs() {
  local pids _
  stop_tests_lab
  # Anything else of ours, by pid: TERM, then KILL what is still there after 5 s.
  pids="$(our_lab_pids)"
  [ -z "$pids" ] && return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids="$(our_lab_pids)"
    [ -z "$pids" ] && return 0
    sleep 0.5
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

on_exit() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "$(our_lab_pids)" ]; then
    check_no_lab_left || true  # a failed step: still name what it left, before stopping it
  fi
  stop_our_labs
  exit "$status"
}
trap on_exit EXIT

# Fails, naming them, when a lab process of this run is still running.
check_no_lab_left() {
  local left
  left="$(our_lab_pids)"
  if [ -n "$left" ]; then
    echo "Lab processes left running by the tests (stopped now by the exit trap):" >&2
    # shellcheck disable=SC2086
    ps -ww -o pid=,args= -p $(echo $left | tr ' ' ',') >&2 || true
    return 1
  fi
  echo "No lab process left."
}

run_all() {
  step "ruff"
  ruff check src plugins tests benchmarks
  step "mypy"
  mypy src plugins
  step "ansible-lint (production profile)"
  ansible-lint --offline --profile production
  step "pytest"
  # Side by side: each module starts its own lab, and lab tests mostly wait on simulated tasks.
  # --durations: the slowest tests, to keep the run short; the JUnit report for pipelines.
  pytest -q -p no:cacheprovider -n "${VMREPL_TEST_WORKERS:-4}" --dist loadfile \
    --durations=25 --junitxml=.cache/pytest-junit.xml tests
  step "molecule (remote and local on the lab)"
  for scenario in remote local; do
    molecule test -s "$scenario"
  done
}

if [ "$#" -gt 0 ]; then
  # `scripts/test.sh pytest -q tests/unit`: that command instead of every step, with the same
  # clean-up and check at the end.
  step "$*"
  "$@"
else
  run_all
fi
step "stop the tests' lab, then no lab process left"
stop_tests_lab
check_no_lab_left
