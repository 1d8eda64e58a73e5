#!/usr/bin/env bash
# Docker Compose v2 (github.com/docker/compose/v2/cmd) from the Go module proxy, for the Compose
# e2e and tests. Installed as bin/docker-compose: run it standalone, or as a `docker compose`
# plugin by pointing DOCKER_CONFIG's cli-plugins (or the CLI's cliPluginsExtraDirs) at bin/.
# `go install module@version` refuses it (its go.mod has exclude directives), so the module is
# downloaded and built as the main module from a writable copy, with its own go.mod and go.sum.
# Cold build about 10 min on 2 contended cores; warm: the marker file is checked only.
set -euo pipefail
# shellcheck source=../../tools/versions.env
source "$ROOT/tools/versions.env"
PREFIX=$TINES_TOOLS_DIR/compose-$COMPOSE_VERSION
if [ ! -f "$PREFIX/.built" ]; then
  mkdir -p "$PREFIX/bin"
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
  src=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" |
    awk -F'"' '$2 == "Dir" {print $4}')
  cp -r "$src" "$work/compose" && chmod -R u+w "$work/compose"
  (cd "$work/compose" && CGO_ENABLED=0 GOFLAGS="-p=${JOBS:-2} -buildvcs=false -mod=readonly" nice -n "${GO_BUILD_NICENESS:-10}" go build -trimpath -gcflags=all=-dwarf=false \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    -o "$PREFIX/bin/docker-compose.tmp" ./cmd) >&2
  mv "$PREFIX/bin/docker-compose.tmp" "$PREFIX/bin/docker-compose"
  touch "$PREFIX/.built"
fi
echo "$PREFIX"
