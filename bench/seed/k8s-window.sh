#!/usr/bin/env bash
# The seed's Kubernetes commands for one maintenance window, in the seed's order, each
# followed by the platform's own wait: `kubectl scale --replicas=N` then `kubectl rollout
# status`. Used by bench/window.ts as the baseline (KUBECONFIG names the cluster).
#
#   k8s-window.sh PHASE NAMESPACE "svc=count svc=count ..."   (services in the order to run them)
set -euo pipefail
phase=$1 namespace=$2 services=$3
for pair in $services; do
  service=${pair%%=*} count=${pair#*=}
  [ "$phase" = shutdown ] && count=0
  kubectl -n "$namespace" scale "deployment/$service" --replicas="$count" >/dev/null
  kubectl -n "$namespace" rollout status "deployment/$service" --timeout=120s >/dev/null
done
