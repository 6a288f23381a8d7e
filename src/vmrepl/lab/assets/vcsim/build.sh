#!/usr/bin/env bash
# Build the lab's vCenter simulator offline against Debian's govmomi 0.24 sources.
# Usage: src/vmrepl/lab/assets/vcsim/build.sh OUTPUT_DIR
# Writes OUTPUT_DIR/vcsim and OUTPUT_DIR/vcsim.sha256 (hash of the sources it was built from);
# does nothing when that hash is current.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTPUT_DIR}
mkdir -p "$out"; out=$(cd "$out" && pwd)
mkdir -p "$out"
sum=$(cat "$here"/*.go "$here/build.sh" | sha256sum | cut -d' ' -f1)
if [[ -x "$out/vcsim" && -f "$out/vcsim.sha256" && "$(cat "$out/vcsim.sha256")" == "$sum" ]]; then
  echo "vcsim: up to date ($out/vcsim)"
  exit 0
fi
gopath=/usr/share/gocode
if [[ ! -d "$gopath/src/github.com/vmware/govmomi/simulator" ]]; then
  echo "vcsim: Debian's golang-github-vmware-govmomi-dev is missing (make setup installs it)" >&2
  exit 1
fi
command -v go >/dev/null || { echo "vcsim: Debian's golang-go is missing (make setup installs it)" >&2; exit 1; }
echo "vcsim: building $out/vcsim"
cd "$here"
GO111MODULE=off GOPATH="$gopath" GOCACHE="$out/gocache" \
  go build -trimpath -o "$out/vcsim.new" .
mv "$out/vcsim.new" "$out/vcsim"
echo "$sum" > "$out/vcsim.sha256"
