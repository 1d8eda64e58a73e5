/**
 * The names and type tokens the program registers, in one place: the program, the plan,
 * the policy pack and the tests all find resources by them, so a rename that misses one
 * of those fails to compile instead of silently disabling a policy.
 */

/** The Pulumi project (Pulumi.yaml `name`): prefix of config keys and of component types. */
export const PROJECT_NAME = "tines-maintenance";

/** The root component of every update; policies read the phase from its outputs. */
export const MAINTENANCE_RUN_NAME = "maintenance";

/** Gate steps, by their Pulumi resource names (component and dynamic resource share the name). */
export const GATE_NAMES = [
  "sidekiq-preflight",
  "sidekiq-drain",
  "database-backup",
  "database-migration",
  "endpoint-switch",
  "endpoint-propagation",
  "maintenance-window",
  "tines-health",
] as const;
export type GateName = (typeof GATE_NAMES)[number];

export const ENDPOINT_SWITCH_NAME = "endpoint-switch" satisfies GateName;
export const SIDEKIQ_DRAIN_NAME = "sidekiq-drain" satisfies GateName;

/** Component resource types (`<project>:index:<Name>`). */
export const COMPONENT_TYPES = {
  maintenanceRun: `${PROJECT_NAME}:index:MaintenanceRun`,
  /** ServiceStepComponent; the token predates that class name and stays, as it is in every step's URN. */
  serviceStep: `${PROJECT_NAME}:index:ServiceStep`,
  endpointSwitch: `${PROJECT_NAME}:index:EndpointSwitch`,
  sidekiqDrainGate: `${PROJECT_NAME}:index:SidekiqDrainGate`,
  sidekiqPreflight: `${PROJECT_NAME}:index:SidekiqPreflight`,
  databaseBackup: `${PROJECT_NAME}:index:DatabaseBackup`,
  databaseMigration: `${PROJECT_NAME}:index:DatabaseMigration`,
  endpointPropagationGate: `${PROJECT_NAME}:index:EndpointPropagationGate`,
  maintenanceWindow: `${PROJECT_NAME}:index:MaintenanceWindow`,
  tinesHealthGate: `${PROJECT_NAME}:index:TinesHealthGate`,
} as const;

/** A dynamic resource's module and type, as `pulumi.dynamic.Resource`'s constructor takes them. */
export interface DynamicType {
  module: string;
  type: string;
}

export const DYNAMIC_TYPES = {
  ecsServiceCount: { module: "ecs", type: "ServiceCount" },
  composeService: { module: "compose", type: "Service" },
  kubernetesRollout: { module: "kubernetes", type: "Rollout" },
  sidekiqDrain: { module: "sidekiq", type: "DrainGate" },
  endpointSwitch: { module: "endpoints", type: "Switch" },
  endpointPropagation: { module: "endpoints", type: "Propagation" },
  kedaPause: { module: "kubernetes", type: "KedaPause" },
  sidekiqPreflight: { module: "sidekiq", type: "Preflight" },
  databaseBackup: { module: "database", type: "Backup" },
  databaseMigration: { module: "database", type: "Migration" },
  maintenanceWindow: { module: "window", type: "Record" },
  tinesHealth: { module: "tines", type: "Health" },
} as const satisfies Record<string, DynamicType>;

/** The type token the SDK registers a dynamic resource under. */
export function dynamicTypeToken(dynamic: DynamicType): string {
  return `pulumi-nodejs:dynamic/${dynamic.module}:${dynamic.type}`;
}

/** Kubernetes resources that set a workload's replicas (the adapter's server-side-apply patches). */
export const KUBERNETES_REPLICA_PATCH_TYPES = [
  "kubernetes:apps/v1:DeploymentPatch",
  "kubernetes:apps/v1:StatefulSetPatch",
] as const;
