/**
 * The seed's rules as stack checks, pure functions over the resources Pulumi hands a
 * stack policy (`validateStack`): they see the whole stack at once, its dependency edges
 * and its resolved properties, during preview as well as update. No `@pulumi/*` import,
 * so they are tested against plain objects.
 *
 * Resources are found the way the program names them (docs/FACTS.md, "Shape of the program"):
 * each service's step and scaling resources carry the service key as their name, the
 * run's root is a `MaintenanceRun` named `maintenance` with the phase, and the endpoint
 * change is a resource named `endpoint-switch`.
 */
import { SCALE_DOWN_ORDER, type Phase, type ServiceKey, isServiceKey } from "../lib/services";

/** The part of `@pulumi/policy`'s `PolicyResource` the rules read. */
export interface StackResource {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
  dependencies: StackResource[];
  parent?: StackResource;
}

export interface Violation {
  message: string;
  /** The resource at fault; none when the stack as a whole is. */
  urn?: string;
}

export const MAINTENANCE_RUN_TYPE = "tines-maintenance:index:MaintenanceRun";
export const MAINTENANCE_RUN_NAME = "maintenance";
export const ENDPOINT_SWITCH_NAME = "endpoint-switch";

/** Services that cannot run without the database and Redis (they crash-loop or lose jobs). */
export const DATA_DEPENDENT_SERVICES: readonly ServiceKey[] = ["tines-app", "tines-sidekiq"];
export const DATA_STORES: readonly ServiceKey[] = ["postgres", "redis"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function wholeNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * The count a scaling resource brings its service to, whatever the platform calls it:
 * our steps' `targetCount`, ECS `desiredCount`, a Kubernetes patch's `spec.replicas`.
 * Reads only those fields, so that a value unknown during preview elsewhere in the
 * resource cannot stop the check.
 */
export function scaleTarget(props: Record<string, unknown>): number | undefined {
  const direct =
    wholeNumber(props.targetCount) ?? wholeNumber(props.desiredCount) ?? wholeNumber(props.replicas);
  if (direct !== undefined) return direct;
  const spec = props.spec;
  return isRecord(spec) ? wholeNumber(spec.replicas) : undefined;
}

/** Every resource that stands for one service (its step component and its scaling resource). */
export function serviceResources(resources: readonly StackResource[]): Map<ServiceKey, StackResource[]> {
  const byKey = new Map<ServiceKey, StackResource[]>();
  for (const resource of resources) {
    if (!isServiceKey(resource.name)) continue;
    const list = byKey.get(resource.name) ?? [];
    list.push(resource);
    byKey.set(resource.name, list);
  }
  return byKey;
}

/** The phase the stack is being brought to, from its MaintenanceRun; undefined if not stated. */
export function stackPhase(resources: readonly StackResource[]): Phase | undefined {
  const run =
    resources.find((r) => r.type === MAINTENANCE_RUN_TYPE) ??
    resources.find((r) => r.name === MAINTENANCE_RUN_NAME && "phase" in r.props);
  const phase = run?.props.phase;
  return phase === "running" || phase === "shutdown" ? phase : undefined;
}

/** Everything `from` waits for: its dependencies, theirs, and so on. */
export function dependencyClosure(from: StackResource): Set<StackResource> {
  const seen = new Set<StackResource>();
  const queue = [...from.dependencies];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...next.dependencies);
  }
  return seen;
}

function waitsFor(resources: readonly StackResource[], targets: readonly StackResource[]): boolean {
  return resources.some((resource) => {
    const closure = dependencyClosure(resource);
    return targets.some((target) => closure.has(target));
  });
}

/**
 * (a) tines-app and tines-sidekiq may not be scaled up while Postgres or Redis is brought
 * to zero in the same stack: they would start against a missing database or queue.
 */
export function checkNoAppWithoutDataStores(resources: readonly StackResource[]): Violation[] {
  const byKey = serviceResources(resources);
  const targetOf = (key: ServiceKey) =>
    (byKey.get(key) ?? [])
      .map((r) => ({ r, target: scaleTarget(r.props) }))
      .filter((t) => t.target !== undefined);
  const stoppedStores = DATA_STORES.filter((key) => targetOf(key).some((t) => t.target === 0));
  if (stoppedStores.length === 0) return [];
  const violations: Violation[] = [];
  for (const key of DATA_DEPENDENT_SERVICES) {
    const running = targetOf(key).find((t) => t.target! > 0);
    if (running) {
      violations.push({
        urn: running.r.urn,
        message:
          `${key} is scaled to ${running.target} while ${stoppedStores.join(" and ")} ` +
          `${stoppedStores.length > 1 ? "are" : "is"} scaled to 0; stop ${key} first (seed order: ${SCALE_DOWN_ORDER.join(" -> ")})`,
      });
    }
  }
  return violations;
}

/**
 * (b) DATABASE_HOST / REDIS_URL change only while Tines is shut down: an `endpoint-switch`
 * may exist only in phase shutdown, and only after every service step has finished.
 */
export function checkEndpointChangeOnlyInShutdown(resources: readonly StackResource[]): Violation[] {
  const switches = resources.filter((r) => r.name === ENDPOINT_SWITCH_NAME);
  if (switches.length === 0) return [];
  const phase = stackPhase(resources);
  if (phase !== "shutdown") {
    return [
      {
        urn: switches[0].urn,
        message:
          `endpoint-switch changes DATABASE_HOST / REDIS_URL while the phase is ${phase ?? "not stated"}; ` +
          `endpoints may change only in phase shutdown (pulumi config set phase shutdown)`,
      },
    ];
  }
  const violations: Violation[] = [];
  for (const [key, steps] of serviceResources(resources)) {
    if (!waitsFor(switches, steps)) {
      violations.push({
        urn: switches[0].urn,
        message: `endpoint-switch does not wait for ${key}; endpoints may change only after every service step has finished`,
      });
    }
  }
  return violations;
}

/**
 * (c) The seed's order: in shutdown each service step depends on the one before it in
 * scale-down order; in running, in the exact reverse. Gates in between are fine, as the
 * check follows dependencies through them.
 */
export function checkStepOrder(resources: readonly StackResource[]): Violation[] {
  const phase = stackPhase(resources);
  const byKey = serviceResources(resources);
  if (byKey.size < 2) return [];
  if (phase === undefined) {
    return [
      {
        message: `no ${MAINTENANCE_RUN_TYPE} named "${MAINTENANCE_RUN_NAME}" states the phase; cannot check the step order`,
      },
    ];
  }
  const order = phase === "shutdown" ? [...SCALE_DOWN_ORDER] : [...SCALE_DOWN_ORDER].reverse();
  const present = order.filter((key) => byKey.has(key));
  const violations: Violation[] = [];
  for (let i = 1; i < present.length; i++) {
    const [before, after] = [present[i - 1], present[i]];
    const afterSteps = byKey.get(after)!;
    if (!waitsFor(afterSteps, byKey.get(before)!)) {
      violations.push({
        urn: afterSteps[0].urn,
        message: `${after} does not wait for ${before}; in ${phase} each step must depend on the one before (order: ${present.join(" -> ")})`,
      });
    }
  }
  return violations;
}
