#!/usr/bin/env bash
# kwok, the fake kubelet of the test control plane: it runs the Node and Pod lifecycles
# (node heartbeat, pod ready, pod delete) without containers (testkit/servers/kubernetes.ts).
# Its go.mod has no replace directives, so `go install module@version` builds it directly.
# kwok runs no stage it is not given: the default stages it embeds (node initialize, node
# heartbeat with lease, pod ready/complete/delete) are copied from the module into
# $PREFIX/share/stages/, from which the harness writes its config.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../../tools/versions.env
source "$ROOT/tools/versions.env"
TINES_TOOLS_DIR=${TINES_TOOLS_DIR:-/var/cache/tines-maintenance}
PREFIX=$TINES_TOOLS_DIR/kwok-$KWOK_VERSION
if [ ! -f "$PREFIX/.built" ]; then
  export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS="-p=${JOBS:-2} -buildvcs=false" CGO_ENABLED=0
  started=$SECONDS
  GOBIN=$PREFIX/bin nice -n "${GO_BUILD_NICENESS:-10}" go install -trimpath -gcflags=all=-dwarf=false \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  src=$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | awk -F'"' '$2 == "Dir" {print $4}')
  mkdir -p "$PREFIX/share/stages"
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    install -m 0644 "$src/kustomize/stage/$stage.yaml" "$PREFIX/share/stages/"
  done
  echo "[kwok $(date +%T)] built kwok in $((SECONDS - started)) s" >&2
  touch "$PREFIX/.built"
fi
echo "$PREFIX"
