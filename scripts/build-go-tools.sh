#!/usr/bin/env bash
# Builds the Go tools the tests and e2e suite run for real, into one machine-wide cache keyed
# by version: $TINES_TOOLS_DIR/<tool>-<version>/bin (default /var/cache/tines-maintenance).
# A tool whose directory holds a .built marker is not rebuilt; Go's own module and build caches
# (GOMODCACHE, GOCACHE) are machine-wide too, so a rebuild after a version bump mostly links.
#
# Usage: bash scripts/build-go-tools.sh [TOOL ...]     (default: every tool, in the order below)
# Prints one line per tool with its directory, how long it took and the CPU time it used.
# With GO_TOOLS_STATUS_DIR set (CI, .ci/run), each tool's outcome is written there as
# <tool>.ok or <tool>.failed as soon as it is known, a failed tool does not stop the ones after
# it, and the exit status is non-zero if any failed.
# Every tool is built as its upstream releases are, pure Go (CGO_ENABLED=0), and without DWARF
# from the compiler on (-gcflags=all=-dwarf=false; -ldflags=-w only drops it at link time, after
# the compiler has made it): kwok, from an empty build cache, took 242 CPU s against 295.
# The compilers run at GO_BUILD_NICENESS (default 10, so that a developer's machine stays
# responsive while they build); CI runs them at 0, because there they are the critical path.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/versions.env
source "$ROOT/tools/versions.env"
export TINES_TOOLS_DIR=${TINES_TOOLS_DIR:-/var/cache/tines-maintenance}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export JOBS=${JOBS:-2}
mkdir -p "$TINES_TOOLS_DIR"

# In the order the tests need them: the Pulumi CLI (every e2e file), compose (the Compose e2e
# and tests), the control plane (the Kubernetes tests), and last the Kubernetes provider plugin
# with helm, which only the Kubernetes e2e needs.
ORDER=(pulumi compose kubernetes kwok pulumi-kubernetes)
allowed() { (cd "$ROOT/scripts/go-tools" && ls ./*.sh | sed 's|^\./||; s/\.sh$//' | tr '\n' ' '); }
for f in "$ROOT"/scripts/go-tools/*.sh; do
  [[ " ${ORDER[*]} " == *" $(basename "$f" .sh) "* ]] || { echo "build-go-tools: $(basename "$f") is not in ORDER" >&2; exit 2; }
done

tools=("$@")
[ "${#tools[@]}" -gt 0 ] || tools=("${ORDER[@]}")

# child_cpu: sets cpu to the CPU milliseconds (user + system) of this shell's finished children.
# `times` runs in this shell: in a command substitution it would count that subshell's children.
times_file=$(mktemp)
trap 'rm -f "$times_file"' EXIT
child_cpu() {
  times >"$times_file"
  cpu=$(awk 'NR == 2 { gsub(/s/, ""); split($1, u, "m"); split($2, s, "m"); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }' "$times_file")
}

failed=0
for tool in "${tools[@]}"; do
  script="$ROOT/scripts/go-tools/$tool.sh"
  [ -f "$script" ] || { echo "build-go-tools: unknown tool '$tool'; allowed: $(allowed)" >&2; exit 2; }
  started=$SECONDS
  child_cpu
  before=$cpu
  # Each script prints the directory it built into as its last line.
  if dir=$(ROOT="$ROOT" bash "$script" | tail -n 1) && [ -n "$dir" ]; then
    child_cpu
    echo "build-go-tools: $tool -> $dir ($((SECONDS - started)) s, $(((cpu - before) / 1000)) CPU s)"
    [ -z "${GO_TOOLS_STATUS_DIR:-}" ] || echo "$dir" >"$GO_TOOLS_STATUS_DIR/$tool.ok"
  else
    echo "build-go-tools: $tool FAILED after $((SECONDS - started)) s" >&2
    [ -n "${GO_TOOLS_STATUS_DIR:-}" ] || exit 1
    touch "$GO_TOOLS_STATUS_DIR/$tool.failed"
    failed=1
  fi
done
exit "$failed"
