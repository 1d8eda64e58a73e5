#!/usr/bin/env bash
# The Pulumi CLI and our Node.js language host (see scripts/build-pulumi-cli.sh for why).
set -euo pipefail
VERSION=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2; exit}' "$ROOT/tools/pulumi-language-nodejs/go.mod")
PREFIX=$TINES_TOOLS_DIR/pulumi-$VERSION
if [ ! -f "$PREFIX/.built" ]; then
  bash "$ROOT/scripts/build-pulumi-cli.sh" "$PREFIX" >&2
  touch "$PREFIX/.built"
fi
echo "$PREFIX"
