#!/usr/bin/env bash
# The seed's ECS commands for one maintenance window, in the seed's order, each followed by
# ECS's own wait: `aws ecs update-service --desired-count N` then `aws ecs wait services-stable`.
# Used by bench/window.ts as the baseline; prints one line per command with its start and end
# (epoch seconds) so the benchmark can split the platform's wait from the rest.
#
#   ecs-window.sh PHASE CLUSTER "svc=count svc=count ..."   (services in the order to run them)
#
# AWS_ENDPOINT_URL_ARGS (e.g. "--endpoint-url http://127.0.0.1:5000") points the CLI at moto.
set -euo pipefail
phase=$1 cluster=$2 services=$3
endpoint=(${AWS_ENDPOINT_URL_ARGS:-})
now() { date +%s.%N; }
for pair in $services; do
  service=${pair%%=*} count=${pair#*=}
  [ "$phase" = shutdown ] && count=0
  t0=$(now)
  aws "${endpoint[@]}" ecs update-service --cluster "$cluster" --service "$service" \
    --desired-count "$count" >/dev/null
  t1=$(now)
  aws "${endpoint[@]}" ecs wait services-stable --cluster "$cluster" --services "$service"
  t2=$(now)
  echo "step $service update $t0 $t1 wait $t1 $t2"
done
