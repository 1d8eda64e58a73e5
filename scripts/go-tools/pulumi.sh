#!/usr/bin/env bash
# The Pulumi CLI and our Node.js language host (see scripts/build-pulumi-cli.sh for why), as two
# cache entries, so that a change to the language host rebuilds the language host alone:
#   $TINES_TOOLS_DIR/pulumi-<version>                 the CLI and the plugin shims (about 15 min cold),
#                                                     keyed by the Pulumi version
#   $TINES_TOOLS_DIR/pulumi-<version>-nodejs-<digest> bin/ with our language host, built from
#                                                     tools/pulumi-language-nodejs, keyed by a digest of
#                                                     its main.go, go.mod and go.sum (under a minute
#                                                     once the CLI's modules are cached), and links to
#                                                     the CLI's binaries: the directory the tests use
# A warm CI cache with a changed main.go (or go.mod, go.sum) thus has no entry for the new digest
# and builds it; one with the same sources reuses it.
set -euo pipefail
MOD=$ROOT/tools/pulumi-language-nodejs
VERSION=$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" {print $2; exit}' "$MOD/go.mod")
CLI_PREFIX=$TINES_TOOLS_DIR/pulumi-$VERSION
PREFIX=$CLI_PREFIX-nodejs-$(bash "$ROOT/scripts/build-pulumi-cli.sh" --language-host-digest)
if [ ! -f "$CLI_PREFIX/.built" ]; then
  bash "$ROOT/scripts/build-pulumi-cli.sh" "$CLI_PREFIX" >&2
  touch "$CLI_PREFIX/.built"
fi
if [ ! -f "$PREFIX/.built" ]; then
  LANGUAGE_HOST_ONLY="$CLI_PREFIX/bin" bash "$ROOT/scripts/build-pulumi-cli.sh" "$PREFIX" >&2
  touch "$PREFIX/.built"
fi
echo "$PREFIX"
