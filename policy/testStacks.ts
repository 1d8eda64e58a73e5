/**
 * Stacks shaped as the program builds them, for the policy tests: the rules' unit tests
 * and the policy pack served over gRPC as the Pulumi CLI runs it.
 */
import { SCALE_DOWN_ORDER, type Phase, type ServiceKey } from "../lib/services";
import { MAINTENANCE_RUN_TYPE, type StackResource } from "./rules";

export const STACK_URN = "urn:pulumi:prod::tines-maintenance";
export const SERVICE_STEP = "tines-maintenance:index:ServiceStep";

/** Scaling resources as each platform adapter registers them, with the count where it keeps it. */
export const SCALING: Record<string, { type: string; props: (count: number) => Record<string, unknown> }> = {
  ecs: {
    type: "pulumi-nodejs:dynamic:Resource",
    props: (n) => ({ cluster: "tines", service: "x", desiredCount: n }),
  },
  kubernetes: {
    type: "kubernetes:apps/v1:DeploymentPatch",
    props: (n) => ({
      metadata: { name: "x", annotations: { "pulumi.com/patchForce": "true" } },
      spec: { replicas: n },
    }),
  },
  compose: {
    type: "pulumi-nodejs:dynamic:Resource",
    props: (n) => ({ projectName: "tines", targetCount: n }),
  },
};

export function resource(
  type: string,
  name: string,
  props: Record<string, unknown>,
  parent?: StackResource,
): StackResource {
  const parentTypes = parent ? `${parent.urn.split("::")[2]}$` : "";
  return { type, name, urn: `${STACK_URN}::${parentTypes}${type}::${name}`, props, dependencies: [], parent };
}

export interface StackOptions {
  phase?: Phase;
  platform?: keyof typeof SCALING;
  counts?: Partial<Record<ServiceKey, number>>;
  keepRunning?: ServiceKey[];
  /** Steps between two services, e.g. `{ "tines-sidekiq": ["sidekiq-drain"] }`: gates before that service. */
  gatesBefore?: Partial<Record<ServiceKey, string[]>>;
  /** Gates after the last service (e.g. endpoint-switch in shutdown). */
  gatesAfter?: string[];
  withoutRun?: boolean;
}

/**
 * A stack as the program builds it: a MaintenanceRun, then per service a ServiceStep
 * component (named by the key, dependsOn the step before) holding the platform's scaling
 * resource (also named by the key), gates in between.
 */
export function stack(options: StackOptions = {}): StackResource[] {
  const phase = options.phase ?? "shutdown";
  const platform = options.platform ?? "ecs";
  const counts = options.counts ?? { nginx: 2, "tines-app": 3, "tines-sidekiq": 2, redis: 1, postgres: 1 };
  const run = resource(MAINTENANCE_RUN_TYPE, "maintenance", { phase, platform });
  const resources: StackResource[] = options.withoutRun ? [] : [run];
  const order = phase === "shutdown" ? [...SCALE_DOWN_ORDER] : [...SCALE_DOWN_ORDER].reverse();
  let previous: StackResource | undefined;
  const chain = (r: StackResource) => {
    if (previous) r.dependencies.push(previous);
    resources.push(r);
    previous = r;
  };
  for (const key of order) {
    const configured = counts[key];
    if (configured === undefined) continue;
    for (const gate of options.gatesBefore?.[key] ?? [])
      chain(resource("tines-maintenance:index:Gate", gate, {}, run));
    const target = phase === "shutdown" && !options.keepRunning?.includes(key) ? 0 : configured;
    const step = resource(SERVICE_STEP, key, { targetCount: target, configuredCount: configured }, run);
    chain(step);
    resources.push(resource(SCALING[platform].type, key, SCALING[platform].props(target), step));
  }
  for (const gate of options.gatesAfter ?? []) chain(resource("tines-maintenance:index:Gate", gate, {}, run));
  return resources;
}

export const named = (resources: StackResource[], name: string, type = SERVICE_STEP) =>
  resources.find((r) => r.name === name && r.type === type)!;
