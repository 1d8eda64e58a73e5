import { createKubeClient } from "../../lib/kubernetes/client";
import { resolveConnection } from "../../lib/kubernetes/kubeconfig";
import { waitForRollout } from "../../lib/kubernetes/rollout";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { WORKLOAD_KINDS } from "../../lib/plan/services";
import {
  isKubernetesName,
  nonEmptyStringFailure,
  oneOfFailure,
  ruleFailure,
  wholeFailure,
  type InputFailure,
  type Inputs,
} from "../../lib/config/validation";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";

/**
 * Waits, after the replicas patch, until the workload has really reached its target (see
 * lib/kubernetes/rollout.ts). It changes nothing in the cluster: create/update only read,
 * delete is a no-op. It re-runs whenever the target count changes.
 */
export interface KubernetesRolloutInputs {
  namespace: string;
  kind: "Deployment" | "StatefulSet";
  name: string;
  targetCount: number;
  timeoutSeconds: number;
  /** kubeconfig context; undefined = current-context (as the Kubernetes provider resolves it). */
  context?: string;
  pollSeconds?: number;
}

export interface KubernetesRolloutOutputs extends KubernetesRolloutInputs {
  reachedCount: number;
  readyReplicas: number;
  seconds: number;
  hpa?: { name: string; minReplicas: number; maxReplicas: number };
}

/** Problems with the inputs, each naming the field and what is allowed. */
export function rolloutInputProblems(news: Inputs): InputFailure[] {
  return [
    ...ruleFailure(news, "namespace", isKubernetesName, "must be a Kubernetes namespace name"),
    ...ruleFailure(news, "name", isKubernetesName, "must be a Kubernetes object name"),
    ...oneOfFailure(news, "kind", WORKLOAD_KINDS),
    ...wholeFailure(news, "targetCount", 0),
    ...wholeFailure(news, "timeoutSeconds", 1),
    ...nonEmptyStringFailure(news, "context", { optional: true }),
    ...wholeFailure(news, "pollSeconds", 1, { optional: true }),
  ];
}

const WAIT_FIELDS = ["namespace", "kind", "name", "targetCount", "context"] as const;

async function wait(
  inputs: KubernetesRolloutInputs,
  { reporter, signal }: ProviderContext,
): Promise<KubernetesRolloutOutputs> {
  const client = createKubeClient(resolveConnection({ context: inputs.context }));
  const result = await waitForRollout(client, inputs, {
    timeoutSeconds: inputs.timeoutSeconds,
    pollSeconds: inputs.pollSeconds,
    reporter,
    signal,
  });
  return { ...inputs, ...result };
}

export const kubernetesRolloutProvider = defineProvider({
  type: DYNAMIC_TYPES.kubernetesRollout,
  outputs: ["reachedCount", "readyReplicas", "seconds", "hpa"],
  check: rolloutInputProblems,
  // Timeout and poll interval do not change the outcome: no new wait for them alone.
  diff: (olds, news) => ({ changes: WAIT_FIELDS.some((k) => olds[k] !== news[k]) }),
  create: (inputs: KubernetesRolloutInputs, context: ProviderContext) => wait(inputs, context),
  id: (outs) => `${outs.namespace}/${outs.kind}/${outs.name}`,
  update: (_olds, news, context) => wait(news, context),
  delete: "Nothing to undo: this resource only watched.",
});

export class KubernetesRollout extends dynamicResource(kubernetesRolloutProvider) {}
