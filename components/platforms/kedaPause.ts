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
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";

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

async function apply(inputs: KedaPauseInputs, { reporter }: ProviderContext): Promise<KedaPauseOutputs> {
  const client = createKubeClient(resolveConnection({ context: inputs.context }));
  const label = `${inputs.kind} ${inputs.namespace}/${inputs.name}`;
  let object;
  try {
    object = await findScaledObject(client, inputs.namespace, inputs.kind, inputs.name);
  } catch (error) {
    // A role that may not list ScaledObjects must not block maintenance; the operator is told.
    reporter.warn(
      `could not list KEDA ScaledObjects in ${inputs.namespace}: ${(error as Error).message}; a ScaledObject targeting ${label} would scale it back`,
    );
    return { ...inputs, ownedByUs: false };
  }
  if (!object) return { ...inputs, ownedByUs: false };
  const so = `KEDA ScaledObject ${inputs.namespace}/${object.metadata.name}`;
  if (inputs.paused) {
    const result = await pauseScaledObject(client, inputs.namespace, object, 0);
    if (result.ownedByUs) reporter.info(`${so} targets ${label}: paused at 0 (${KEDA_PAUSED_REPLICAS}: "0")`);
    else
      reporter.warn(
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
    reporter.warn(
      `${so} targets ${label}: still paused at ${result.pausedReplicas} by someone else; KEDA keeps it there until they remove ${KEDA_PAUSED_REPLICAS}`,
    );
  else reporter.info(`${so} targets ${label}: KEDA resumed (our ${KEDA_PAUSED_REPLICAS} removed)`);
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

export const kedaPauseProvider = defineProvider({
  type: DYNAMIC_TYPES.kedaPause,
  outputs: ["scaledObject", "pausedReplicas", "ownedByUs"],
  check: kedaPauseInputProblems,
  diff: (olds, news) => ({ changes: FIELDS.some((k) => olds[k] !== news[k]) }),
  create: (inputs: KedaPauseInputs, context: ProviderContext) => apply(inputs, context),
  id: (outs) => `${outs.namespace}/${outs.kind}/${outs.name}`,
  update: (_olds, news, context) => apply(news, context),
  delete: "Like the replicas patches (retainOnDelete), a removed step leaves the cluster as it is.",
});

export class KedaPause extends dynamicResource(kedaPauseProvider) {}
