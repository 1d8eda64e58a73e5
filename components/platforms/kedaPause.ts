import * as pulumi from "@pulumi/pulumi";
import { createKubeClient } from "../../lib/kubernetes/client";
import {
  KEDA_PAUSED_REPLICAS,
  findScaledObject,
  pauseScaledObject,
  resumeScaledObject,
} from "../../lib/kubernetes/keda";
import { resolveConnection } from "../../lib/kubernetes/kubeconfig";
import { WORKLOAD_KINDS } from "../../lib/plan/services";
import {
  booleanFailure,
  isKubernetesName,
  nonEmptyStringFailure,
  oneOfFailure,
  ruleFailure,
  type InputFailure,
  type Inputs,
} from "../../lib/config/validation";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { pulumiReporter } from "../provider/pulumiReporter";
import { operatorFacing } from "../provider/operatorFacing";
import { timed } from "../provider/timed";
import { MaintenanceResource } from "../provider/maintenanceResource";

/**
 * Before a Kubernetes step patches replicas: in shutdown, pauses the KEDA ScaledObject that
 * targets the workload at 0 replicas (else KEDA scales it back up within seconds); in
 * running, removes that pause again. Only the annotation this program applied is ever
 * removed (lib/kubernetes/keda.ts). A workload without a ScaledObject, or a cluster without
 * KEDA, makes this a no-op that reads one list.
 */
export interface KedaPauseInputs {
  namespace: string;
  kind: "Deployment" | "StatefulSet";
  name: string;
  /** true in shutdown: pause at 0; false in running: remove our pause. */
  paused: boolean;
  /** kubeconfig context; undefined = current-context. */
  context?: string;
}

export interface KedaPauseOutputs extends KedaPauseInputs {
  /** The ScaledObject found, if any. */
  scaledObject?: string;
  /** The paused-replicas annotation after this step, if any. */
  pausedReplicas?: string;
  /** Whether the pause now in place is this program's. */
  ownedByUs: boolean;
}

const FIELDS = ["namespace", "kind", "name", "paused", "context"] as const;

export function kedaPauseInputProblems(news: Inputs): InputFailure[] {
  return [
    ...ruleFailure(news, "namespace", isKubernetesName, "must be a Kubernetes namespace name"),
    ...ruleFailure(news, "name", isKubernetesName, "must be a Kubernetes object name"),
    ...oneOfFailure(news, "kind", WORKLOAD_KINDS),
    ...booleanFailure(news, "paused"),
    ...nonEmptyStringFailure(news, "context", { optional: true }),
  ];
}

async function apply(inputs: KedaPauseInputs): Promise<KedaPauseOutputs> {
  const client = createKubeClient(resolveConnection({ context: inputs.context }));
  const label = `${inputs.kind} ${inputs.namespace}/${inputs.name}`;
  let object;
  try {
    object = await findScaledObject(client, inputs.namespace, inputs.kind, inputs.name);
  } catch (error) {
    // A role that may not list ScaledObjects must not block maintenance; the operator is told.
    pulumiReporter.warn(
      `could not list KEDA ScaledObjects in ${inputs.namespace}: ${(error as Error).message}; a ScaledObject targeting ${label} would scale it back`,
    );
    return { ...inputs, ownedByUs: false };
  }
  if (!object) return { ...inputs, ownedByUs: false };
  const so = `KEDA ScaledObject ${inputs.namespace}/${object.metadata.name}`;
  if (inputs.paused) {
    const result = await pauseScaledObject(client, inputs.namespace, object, 0);
    if (result.ownedByUs)
      pulumiReporter.info(`${so} targets ${label}: paused at 0 (${KEDA_PAUSED_REPLICAS}: "0")`);
    else
      pulumiReporter.warn(
        `${so} targets ${label}: already paused by someone else (${result.pausedBy}: "${result.pausedReplicas ?? "true"}"); left as it is`,
      );
    return {
      ...inputs,
      scaledObject: object.metadata.name,
      ...stripUndefined(result),
      ownedByUs: result.ownedByUs,
    };
  }
  const result = await resumeScaledObject(client, inputs.namespace, object);
  if (result.pausedReplicas !== undefined)
    pulumiReporter.warn(
      `${so} targets ${label}: still paused at ${result.pausedReplicas} by someone else; KEDA keeps it there until they remove ${KEDA_PAUSED_REPLICAS}`,
    );
  else pulumiReporter.info(`${so} targets ${label}: KEDA resumed (our ${KEDA_PAUSED_REPLICAS} removed)`);
  return {
    ...inputs,
    scaledObject: object.metadata.name,
    ...stripUndefined(result),
    ownedByUs: result.ownedByUs,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const kedaPauseProvider: pulumi.dynamic.ResourceProvider = operatorFacing(
  timed({
    async check(_olds, news) {
      return { inputs: news, failures: kedaPauseInputProblems(news) };
    },
    async diff(_id, olds, news) {
      return { changes: FIELDS.some((k) => olds[k] !== news[k]) };
    },
    async create(inputs) {
      const outs = await apply(inputs as KedaPauseInputs);
      return { id: `${outs.namespace}/${outs.kind}/${outs.name}`, outs };
    },
    async update(_id, _olds, news) {
      return { outs: await apply(news as KedaPauseInputs) };
    },
    async delete() {
      // Like the replicas patches (retainOnDelete), a removed step leaves the cluster as it is.
    },
  }),
);

export interface KedaPauseArgs {
  /** Namespace of the workload and of its ScaledObject. */
  namespace: pulumi.Input<string>;
  /** Kind of the workload the ScaledObject targets. */
  kind: pulumi.Input<"Deployment" | "StatefulSet">;
  /** Name of the workload the ScaledObject targets. */
  name: pulumi.Input<string>;
  /** True at shutdown (pause KEDA at 0 replicas), false at startup (remove our pause). */
  paused: pulumi.Input<boolean>;
  /** kubeconfig context; the current one when unset. */
  context?: pulumi.Input<string>;
}

export class KedaPause extends MaintenanceResource {
  declare readonly scaledObject: pulumi.Output<string | undefined>;
  declare readonly pausedReplicas: pulumi.Output<string | undefined>;
  declare readonly ownedByUs: pulumi.Output<boolean>;

  constructor(name: string, args: KedaPauseArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      kedaPauseProvider,
      DYNAMIC_TYPES.kedaPause,
      name,
      args,
      ["scaledObject", "pausedReplicas", "ownedByUs"],
      opts,
    );
  }
}
