#!/usr/bin/env bash
# helm, to install the Tines-shaped test chart the way Tines users install theirs.
# Its go.mod has no replace directives, so `go install module@version` builds it directly.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../../tools/versions.env
source "$ROOT/tools/versions.env"
TINES_TOOLS_DIR=${TINES_TOOLS_DIR:-/var/cache/tines-maintenance}
PREFIX=$TINES_TOOLS_DIR/helm-$HELM_VERSION
if [ ! -f "$PREFIX/.built" ]; then
  export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS="-p=${JOBS:-2} -buildvcs=false"
  started=$SECONDS
  GOBIN=$PREFIX/bin nice go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  echo "[helm $(date +%T)] built helm in $((SECONDS - started)) s" >&2
  touch "$PREFIX/.built"
fi
echo "$PREFIX"
