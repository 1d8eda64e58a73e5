#!/bin/bash
# Builds the Pulumi CLI and a Node.js language host from source, for `npm run e2e`.
#
# Why this exists: the official Pulumi CLI and its pulumi-language-nodejs cannot be downloaded
# on the machines this project is developed and tested on (no get.pulumi.com, no GitHub
# releases), and the upstream language host module
# github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 is not served by the Go
# module proxy here (403 "This module version is not available"). So:
#   pulumi                         github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, from the Go module proxy,
#                                  at the version pinned in tools/pulumi-language-nodejs/go.mod
#   pulumi-language-nodejs         our minimal host, tools/pulumi-language-nodejs/main.go (same module)
#   pulumi-resource-pulumi-nodejs  shell shim for dynamic providers, as the upstream distribution ships it
#   pulumi-analyzer-policy         shell shim for policy packs, as the upstream distribution ships it
# Where the official CLI can be installed, use it instead and ignore this script.
#
# Usage: bash scripts/build-pulumi-cli.sh [PREFIX]     (default PREFIX: $TINES_TOOLS_DIR/pulumi-<version>, TINES_TOOLS_DIR=/var/cache/tines-maintenance)
#        LANGUAGE_HOST_ONLY=CLI_BIN bash scripts/build-pulumi-cli.sh PREFIX
#                                    only the language host into PREFIX/bin, beside links to the
#                                    CLI and shims in CLI_BIN (scripts/go-tools/pulumi.sh)
#        bash scripts/build-pulumi-cli.sh --language-host-digest
#                                    prints the digest of the language host's sources (its cache key)
# Binaries go to PREFIX/bin; point the e2e suite at them with PULUMI_BIN_DIR=PREFIX/bin (it also
# looks in .tools/pulumi/bin by itself). Cold: ~15 min (about 1500 Go packages); warm: seconds.
# Idempotent: an up-to-date binary is kept; FORCE=1 rebuilds. JOBS (default 2) bounds go build -p.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOD=$ROOT/tools/pulumi-language-nodejs
if [ "${1:-}" = "--language-host-digest" ]; then
  # The same digest testkit/goTools.ts computes: sha256 of the three files, in this order.
  cat "$MOD/main.go" "$MOD/go.mod" "$MOD/go.sum" | sha256sum | cut -c1-12
  exit 0
fi
PREFIX=${1:-${PREFIX:-${TINES_TOOLS_DIR:-/var/cache/tines-maintenance}/pulumi-$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2; exit}' "$MOD/go.mod")}}
BIN=$PREFIX/bin
JOBS=${JOBS:-2}
export GOFLAGS="-p=$JOBS -buildvcs=false -mod=readonly" CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { echo "[build-pulumi-cli $(date +%T)] $*"; }
command -v go >/dev/null || { echo "build-pulumi-cli: go not found; install Go >= $(awk '/^go /{print $2}' "$MOD/go.mod")" >&2; exit 1; }

VERSION=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2; exit}' "$MOD/go.mod")
[ -n "$VERSION" ] || { echo "build-pulumi-cli: no github.com/pulumi/pulumi/pkg/v3 version in $MOD/go.mod" >&2; exit 1; }
LDV="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION"
mkdir -p "$BIN"
cd "$MOD"

build() { # build <out> <package> <ldflags>
  if [ -z "${FORCE:-}" ] && [ -x "$1" ] && [ "$1" -nt go.sum ] && [ "$1" -nt main.go ] && [ "$1" -nt go.mod ]; then
    log "up to date: $1"
    return
  fi
  local started=$SECONDS
  nice -n "${GO_BUILD_NICENESS:-10}" go build -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w $3" -o "$1.tmp" "$2"
  mv "$1.tmp" "$1"
  log "built $1 in $((SECONDS - started))s"
}

if [ -n "${LANGUAGE_HOST_ONLY:-}" ]; then
  [ -x "$LANGUAGE_HOST_ONLY/pulumi" ] || { echo "build-pulumi-cli: no pulumi in $LANGUAGE_HOST_ONLY" >&2; exit 1; }
  log "language host ($(bash "$0" --language-host-digest)) into $BIN, beside the CLI of $LANGUAGE_HOST_ONLY"
  build "$BIN/pulumi-language-nodejs" . "$LDV -X main.Version=${VERSION#v}"
  # Files, not symlinks: the engine resolves its own path and warns when a bundled plugin found
  # on PATH is not the one beside it. The CLI is hard-linked (no copy of its 150 MB) where it can be.
  ln -f "$LANGUAGE_HOST_ONLY/pulumi" "$BIN/pulumi" 2>/dev/null || cp -f "$LANGUAGE_HOST_ONLY/pulumi" "$BIN/pulumi"
  cp -f "$LANGUAGE_HOST_ONLY/pulumi-resource-pulumi-nodejs" "$LANGUAGE_HOST_ONLY/pulumi-analyzer-policy" "$BIN/"
  "$BIN/pulumi" version
  exit 0
fi

log "Pulumi $VERSION into $BIN"
build "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$LDV"
build "$BIN/pulumi-language-nodejs" . "$LDV -X main.Version=${VERSION#v}"

cat > "$BIN/pulumi-resource-pulumi-nodejs" <<'SHIM'
#!/bin/sh
PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")
if [ ! -z "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" ]; then
    node "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" $@
fi
SHIM
cat > "$BIN/pulumi-analyzer-policy" <<'SHIM'
#!/bin/sh
PULUMI_RUN_SCRIPT_PATH=$(node -e "try { console.log(require.resolve('@pulumi/pulumi/cmd/run-policy-pack')) } catch (e) { console.error(e.message) }")
if [ ! -z "$PULUMI_RUN_SCRIPT_PATH" ]; then
    node "$PULUMI_RUN_SCRIPT_PATH" $@
fi
SHIM
chmod 755 "$BIN/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-analyzer-policy"
"$BIN/pulumi" version
