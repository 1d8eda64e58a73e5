#!/usr/bin/env bash
# Builds the Go tools the tests and e2e suite run for real, into one machine-wide cache keyed
# by version: $TINES_TOOLS_DIR/<tool>-<version>/bin (default /var/cache/tines-maintenance).
# A tool whose directory holds a .built marker is not rebuilt; Go's own module and build caches
# (GOMODCACHE, GOCACHE) are machine-wide too, so a rebuild after a version bump mostly links.
#
# Usage: bash scripts/build-go-tools.sh [TOOL ...]     (default: every tool in scripts/go-tools/)
# Prints one line per tool with its directory and how long it took.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/versions.env
source "$ROOT/tools/versions.env"
export TINES_TOOLS_DIR=${TINES_TOOLS_DIR:-/var/cache/tines-maintenance}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export JOBS=${JOBS:-2}
mkdir -p "$TINES_TOOLS_DIR"

tools=("$@")
if [ "${#tools[@]}" -eq 0 ]; then
  for f in "$ROOT"/scripts/go-tools/*.sh; do tools+=("$(basename "$f" .sh)"); done
fi

for tool in "${tools[@]}"; do
  script="$ROOT/scripts/go-tools/$tool.sh"
  [ -f "$script" ] || { echo "build-go-tools: unknown tool '$tool'; allowed: $(cd "$ROOT/scripts/go-tools" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' ')" >&2; exit 2; }
  started=$SECONDS
  # Each script prints the directory it built into as its last line.
  dir=$(ROOT="$ROOT" bash "$script" | tail -n 1)
  echo "build-go-tools: $tool -> $dir ($((SECONDS - started)) s)"
done
