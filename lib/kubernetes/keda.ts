/**
 * KEDA: a Deployment/StatefulSet scaled by a KEDA ScaledObject is scaled back up by KEDA
 * within seconds of being set to 0. KEDA stops (and holds the count) while the ScaledObject
 * carries `autoscaling.keda.sh/paused-replicas: "N"`, and resumes when the annotation goes.
 *
 * The pause is written with server-side apply under this program's own field manager and
 * never forced: an operator's own pause annotation is never taken over or removed, and the
 * resume removes only what this manager applied.
 */
import { MaintenanceError } from "../errors";
import type { WorkloadKind } from "../plan/services";
import type { KubeClient } from "./client";

export const KEDA_PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas";
export const KEDA_PAUSED = "autoscaling.keda.sh/paused";
/** Field manager of the pause annotation: what this program owns, and only that, it removes. */
export const KEDA_FIELD_MANAGER = "tines-maintenance";

export interface ScaledObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    managedFields?: Array<{ manager?: string; fieldsV1?: Record<string, unknown> }>;
  };
  spec: { scaleTargetRef: { name: string; kind?: string; apiVersion?: string } };
}

const scaledObjectsPath = (namespace: string) =>
  `/apis/keda.sh/v1alpha1/namespaces/${encodeURIComponent(namespace)}/scaledobjects`;

/**
 * The ScaledObject whose scaleTargetRef is this workload (KEDA's default kind is Deployment),
 * or undefined, also when KEDA's CRD is not installed (the API answers 404).
 */
export async function findScaledObject(
  client: KubeClient,
  namespace: string,
  kind: WorkloadKind,
  name: string,
): Promise<ScaledObject | undefined> {
  const objects = await client.list<ScaledObject>(scaledObjectsPath(namespace));
  return objects.find(
    (o) => o.spec?.scaleTargetRef?.name === name && (o.spec.scaleTargetRef.kind ?? "Deployment") === kind,
  );
}

/** Does this program's field manager own the paused-replicas annotation of `object`? */
export function ownsPause(object: ScaledObject): boolean {
  return (object.metadata.managedFields ?? []).some((entry) => {
    if (entry.manager !== KEDA_FIELD_MANAGER) return false;
    const metadata = entry.fieldsV1?.["f:metadata"] as Record<string, Record<string, unknown>> | undefined;
    return metadata?.["f:annotations"]?.[`f:${KEDA_PAUSED_REPLICAS}`] !== undefined;
  });
}

export interface PauseResult {
  scaledObject: string;
  /** The annotation after the call, as KEDA reads it. */
  pausedReplicas?: string;
  /** Whether the pause (now) belongs to this program. */
  ownedByUs: boolean;
  /** Set when the ScaledObject was already paused by someone else: left as it was. */
  pausedBy?: string;
}

function identity(object: ScaledObject, namespace: string) {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: object.metadata.name, namespace },
  };
}

/**
 * Pause KEDA at `replicas` (0 for a shutdown). An existing pause set by someone else is left
 * alone and reported; it already keeps KEDA from scaling.
 */
export async function pauseScaledObject(
  client: KubeClient,
  namespace: string,
  object: ScaledObject,
  replicas: number,
): Promise<PauseResult> {
  const annotations = object.metadata.annotations ?? {};
  const existing =
    annotations[KEDA_PAUSED_REPLICAS] ?? (annotations[KEDA_PAUSED] === "true" ? "" : undefined);
  if (existing !== undefined && !ownsPause(object)) {
    return {
      scaledObject: object.metadata.name,
      ...(annotations[KEDA_PAUSED_REPLICAS] !== undefined
        ? { pausedReplicas: annotations[KEDA_PAUSED_REPLICAS] }
        : {}),
      ownedByUs: false,
      pausedBy: annotations[KEDA_PAUSED_REPLICAS] !== undefined ? KEDA_PAUSED_REPLICAS : KEDA_PAUSED,
    };
  }
  const applied = await client.apply<ScaledObject>(
    `${scaledObjectsPath(namespace)}/${encodeURIComponent(object.metadata.name)}`,
    {
      ...identity(object, namespace),
      metadata: {
        ...identity(object, namespace).metadata,
        annotations: { [KEDA_PAUSED_REPLICAS]: String(replicas) },
      },
    },
    KEDA_FIELD_MANAGER,
  );
  const value = applied.metadata.annotations?.[KEDA_PAUSED_REPLICAS];
  if (value !== String(replicas)) {
    throw new MaintenanceError(
      `ScaledObject ${namespace}/${object.metadata.name}: ${KEDA_PAUSED_REPLICAS} is ${value ?? "unset"} after applying ${replicas}`,
    );
  }
  return { scaledObject: object.metadata.name, pausedReplicas: value, ownedByUs: true };
}

/**
 * Remove the pause this program applied; one set (or also set) by someone else stays. Applying
 * the bare object under our field manager drops exactly the fields only we owned.
 */
export async function resumeScaledObject(
  client: KubeClient,
  namespace: string,
  object: ScaledObject,
): Promise<PauseResult> {
  if (!ownsPause(object)) {
    const left = object.metadata.annotations?.[KEDA_PAUSED_REPLICAS];
    return {
      scaledObject: object.metadata.name,
      ...(left !== undefined ? { pausedReplicas: left } : {}),
      ownedByUs: false,
    };
  }
  const applied = await client.apply<ScaledObject>(
    `${scaledObjectsPath(namespace)}/${encodeURIComponent(object.metadata.name)}`,
    identity(object, namespace),
    KEDA_FIELD_MANAGER,
  );
  const left = applied.metadata.annotations?.[KEDA_PAUSED_REPLICAS];
  return {
    scaledObject: object.metadata.name,
    ...(left !== undefined ? { pausedReplicas: left } : {}),
    ownedByUs: false,
  };
}
