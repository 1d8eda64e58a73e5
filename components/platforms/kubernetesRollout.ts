import * as pulumi from "@pulumi/pulumi";
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
import { pulumiReporter } from "../provider/pulumiReporter";
import { operatorFacing } from "../provider/operatorFacing";
import { timed } from "../provider/timed";
import { MaintenanceResource } from "../provider/maintenanceResource";
import { engineLiveness } from "../provider/engineLiveness";

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

async function wait(inputs: KubernetesRolloutInputs): Promise<KubernetesRolloutOutputs> {
  const client = createKubeClient(resolveConnection({ context: inputs.context }));
  const result = await waitForRollout(client, inputs, {
    timeoutSeconds: inputs.timeoutSeconds,
    pollSeconds: inputs.pollSeconds,
    reporter: pulumiReporter,
    signal: engineLiveness().signal,
  });
  return { ...inputs, ...result };
}

export const kubernetesRolloutProvider: pulumi.dynamic.ResourceProvider = operatorFacing(
  timed({
    async check(_olds, news) {
      return { inputs: news, failures: rolloutInputProblems(news) };
    },
    async diff(_id, olds, news) {
      // Timeout and poll interval do not change the outcome: no new wait for them alone.
      const changed = WAIT_FIELDS.filter((k) => olds[k] !== news[k]);
      return { changes: changed.length > 0 };
    },
    async create(inputs) {
      const outs = await wait(inputs as KubernetesRolloutInputs);
      return { id: `${outs.namespace}/${outs.kind}/${outs.name}`, outs };
    },
    async update(_id, _olds, news) {
      return { outs: await wait(news as KubernetesRolloutInputs) };
    },
    async delete() {
      // Nothing to undo: this resource only watched.
    },
  }),
);

export interface KubernetesRolloutArgs {
  /** Namespace of the workload. */
  namespace: pulumi.Input<string>;
  /** Kind of the workload. */
  kind: pulumi.Input<"Deployment" | "StatefulSet">;
  /** Name of the workload. */
  name: pulumi.Input<string>;
  /** The replicas to wait for: 0 waits until no pod is left, terminating ones included. */
  targetCount: pulumi.Input<number>;
  /** How long to wait before the step fails. */
  timeoutSeconds: pulumi.Input<number>;
  /** kubeconfig context; the current one when unset. */
  context?: pulumi.Input<string>;
  /** Longest pause between two reads of the workload (the first reads come sooner). */
  pollSeconds?: pulumi.Input<number>;
}

export class KubernetesRollout extends MaintenanceResource {
  declare readonly reachedCount: pulumi.Output<number>;
  declare readonly readyReplicas: pulumi.Output<number>;
  declare readonly seconds: pulumi.Output<number>;
  declare readonly hpa: pulumi.Output<KubernetesRolloutOutputs["hpa"]>;

  constructor(name: string, args: KubernetesRolloutArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      kubernetesRolloutProvider,
      DYNAMIC_TYPES.kubernetesRollout,
      name,
      args,
      ["reachedCount", "readyReplicas", "seconds", "hpa"],
      opts,
    );
  }
}
