/**
 * The names and type tokens the program registers, in one place: the program, the plan,
 * the policy pack and the tests all find resources by them, so a rename that misses one
 * of those fails to compile instead of silently disabling a policy. A type token is part of
 * every URN a stack holds: never change one (names.test.ts lists them all).
 */
import { GATE_DEFINITIONS, type GateName } from "./gates";

/** The Pulumi project (Pulumi.yaml `name`): prefix of config keys and of component types. */
export const PROJECT_NAME = "tines-maintenance";

/** The root component of every update; policies read the phase from its outputs. */
export const MAINTENANCE_RUN_NAME = "maintenance";

export { GATE_NAMES, type GateName } from "./gates";

export const ENDPOINT_SWITCH_NAME = "endpoint-switch" satisfies GateName;
export const SIDEKIQ_DRAIN_NAME = "sidekiq-drain" satisfies GateName;

/** A component resource's type token (`<project>:index:<Name>`). */
export function componentType(name: string): string {
  return `${PROJECT_NAME}:index:${name}`;
}

/** Component resource types besides the gates' (GATE_TYPES). */
export const COMPONENT_TYPES = {
  maintenanceRun: componentType("MaintenanceRun"),
  /** ServiceStepComponent; the token predates that class name and stays, as it is in every step's URN. */
  serviceStep: componentType("ServiceStep"),
} as const;

/** A dynamic resource's module and type, as `pulumi.dynamic.Resource`'s constructor takes them. */
export interface DynamicType {
  module: string;
  type: string;
}

/** The dynamic resources of the service steps (the gates' are in GATE_TYPES). */
export const DYNAMIC_TYPES = {
  ecsServiceCount: { module: "ecs", type: "ServiceCount" },
  composeService: { module: "compose", type: "Service" },
  kubernetesRollout: { module: "kubernetes", type: "Rollout" },
  kedaPause: { module: "kubernetes", type: "KedaPause" },
} as const satisfies Record<string, DynamicType>;

type Definition = (typeof GATE_DEFINITIONS)[number];

/** Each gate's component type token and its dynamic resources' types, from lib/plan/gates.ts. */
export const GATE_TYPES = Object.fromEntries(
  GATE_DEFINITIONS.map((gate) => [
    gate.name,
    { component: componentType(gate.types.component), resources: gate.types.resources },
  ]),
) as {
  [N in GateName]: {
    component: string;
    resources: Extract<Definition, { name: N }>["types"]["resources"];
  };
};

/** The type token the SDK registers a dynamic resource under. */
export function dynamicTypeToken(dynamic: DynamicType): string {
  return `pulumi-nodejs:dynamic/${dynamic.module}:${dynamic.type}`;
}

/** Kubernetes resources that set a workload's replicas (the adapter's server-side-apply patches). */
export const KUBERNETES_REPLICA_PATCH_TYPES = [
  "kubernetes:apps/v1:DeploymentPatch",
  "kubernetes:apps/v1:StatefulSetPatch",
] as const;
