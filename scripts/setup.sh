#!/usr/bin/env bash
# One-time machine setup: the servers the tests run against, the npm packages and the Go tools.
# Safe to run again. Needs root (or sudo) for the Debian packages.
#
# Usage: bash scripts/setup.sh [packages|go-tools]   (default: both, packages first)
#   packages   Debian packages, moto and awscli from PyPI, `npm ci`
#   go-tools   the Go-built tools (scripts/build-go-tools.sh); CI starts these first, in the
#              background, since they need neither of the others (.ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:-all}
case "$step" in
  all | packages | go-tools) ;;
  *) echo "setup: unknown step '$step'; allowed: packages, go-tools (default: both)" >&2; exit 2 ;;
esac

go_tools() {
  # The Pulumi CLI, the Kubernetes control plane, kwok, helm, compose and the Kubernetes provider
  # plugin, built from the Go module proxy into the machine-wide cache (cold: about 40 min on 2
  # cores; warm: a marker check per tool).
  echo "setup: building Go tools (cached in ${TINES_TOOLS_DIR:-/var/cache/tines-maintenance})"
  bash scripts/build-go-tools.sh
}
if [ "$step" = go-tools ]; then
  go_tools
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

debs=(postgresql postgresql-client redis-server dnsmasq-base openssl docker.io busybox-static ruby-sidekiq pgcopydb postgresql-15-wal2json chromium)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a cluster on 5432; the tests start their own on free ports.
if command -v pg_lsclusters >/dev/null 2>&1; then
  $SUDO pg_ctlcluster --force 15 main stop >/dev/null 2>&1 || true
fi

# AWS API emulator for the ECS/S3 adapter tests.
if ! command -v moto_server >/dev/null 2>&1; then
  echo "setup: installing moto[server] from PyPI"
  python3 -m pip install --quiet "moto[server]>=5.2,<6" 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages "moto[server]>=5.2,<6"
fi
# The aws CLI runs the seed's ECS commands in bench/window.ts (`aws ecs wait services-stable`).
if ! command -v aws >/dev/null 2>&1; then
  python3 -m pip install --quiet awscli 2>/dev/null || python3 -m pip install --quiet --break-system-packages awscli
fi

echo "setup: installing npm packages"
npm ci --no-audit --no-fund --loglevel=error

[ "$step" = packages ] || go_tools
echo "setup: done"
