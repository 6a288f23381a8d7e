#!/usr/bin/env bash
# Idempotent setup of everything vmrepl needs, into .venv (Python) and .cache (the vcsim build).
# Debian packages are installed only when missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}

debs=()
if ! command -v vcsim >/dev/null 2>&1; then
  dpkg -s golang-go >/dev/null 2>&1 || debs+=(golang-go)
  dpkg -s golang-github-vmware-govmomi-dev >/dev/null 2>&1 || debs+=(golang-github-vmware-govmomi-dev)
fi
# Headless Chromium renders the recovery reports' HTML page in the tests (optional: without it
# that one test is skipped, saying why).
chromium=()
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  chromium=(chromium)
fi
# Prometheus (server and promtool) and Alertmanager run in the monitoring tests, each test
# starting its own processes on free loopback ports with its own configuration and storage
# (optional: without them those tests are skipped, saying why). Their packages' services are
# not needed: the tests never use them.
monitoring=()
command -v promtool >/dev/null 2>&1 || monitoring+=(prometheus)
if ! command -v prometheus-alertmanager >/dev/null 2>&1 && ! command -v alertmanager >/dev/null 2>&1; then
  monitoring+=(prometheus-alertmanager)
fi
if ((${#debs[@]} + ${#chromium[@]} + ${#monitoring[@]})); then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  # (an update that fails matters only for the required packages)
  $sudo apt-get update -qq || ((${#debs[@]} == 0))
fi
if ((${#debs[@]})); then
  echo "setup: installing Debian packages: ${debs[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
fi
if ((${#chromium[@]})); then
  echo "setup: installing Debian packages: ${chromium[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${chromium[@]}" >/dev/null \
    || echo "setup: chromium could not be installed; the report page test will be skipped"
fi

if ((${#monitoring[@]})); then
  echo "setup: installing Debian packages: ${monitoring[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${monitoring[@]}" >/dev/null \
    || echo "setup: ${monitoring[*]} could not be installed; the monitoring lab tests will be skipped"
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.vmrepl-setup
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > $stamp
fi
# The collection vmrepl.core is this repository (collections/ansible_collections/vmrepl/core is a
# link to the root), importable from Python too, so that the CLI and the lab share its clients.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$root/collections" > "$site/vmrepl-collection.pth"
# ansible-lint and molecule (ansible-compat) install the collection under test into their cache,
# $VIRTUAL_ENV/.ansible, unless a link there already points at the working tree: give them the
# link, so that they always see this tree and never a stale copy.
mkdir -p .venv/.ansible/collections/ansible_collections/vmrepl
ln -sfn "$root" .venv/.ansible/collections/ansible_collections/vmrepl/core

if command -v vcsim >/dev/null 2>&1; then
  echo "setup: using vcsim from PATH ($(command -v vcsim))"
else
  src/vmrepl/lab/assets/vcsim/build.sh .cache/vcsim
fi
echo "setup: done. Activate with: . .venv/bin/activate"
