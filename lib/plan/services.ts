/**
 * The Tines services this program scales, in the seed's scale-down order.
 * Startup is the exact reverse.
 */
export const SCALE_DOWN_ORDER = [
  "nginx",
  "tines-app",
  "tines-sidekiq",
  "tines-command-runner",
  "redis",
  "postgres",
  "pypi-server",
] as const;

export type ServiceKey = (typeof SCALE_DOWN_ORDER)[number];

export const PLATFORMS = ["ecs", "kubernetes", "compose"] as const;
export type Platform = (typeof PLATFORMS)[number];

export const PHASES = ["running", "shutdown"] as const;
export type Phase = (typeof PHASES)[number];

export const WORKLOAD_KINDS = ["Deployment", "StatefulSet"] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Services that produce Sidekiq jobs or run them: they must all be down before data stores change. */
export const APPLICATION_TIER: readonly ServiceKey[] = [
  "nginx",
  "tines-app",
  "tines-sidekiq",
  "tines-command-runner",
];

export function isServiceKey(value: string): value is ServiceKey {
  return (SCALE_DOWN_ORDER as readonly string[]).includes(value);
}

/**
 * Workload names as Tines' own deployment files spell them, where they differ from our
 * service keys. `services.<key>.name` overrides them.
 */
const DEFAULT_NAMES: Record<Platform, Partial<Record<ServiceKey, string>>> = {
  compose: { nginx: "tines-nginx" },
  ecs: {},
  kubernetes: {},
};

export function defaultWorkloadName(platform: Platform, key: ServiceKey): string {
  return DEFAULT_NAMES[platform][key] ?? key;
}

/** Data stores usually run as StatefulSets when they run in the cluster at all. */
export function defaultWorkloadKind(key: ServiceKey): WorkloadKind {
  return key === "redis" || key === "postgres" ? "StatefulSet" : "Deployment";
}
