/**
 * The seed's rules as stack checks, pure functions over the resources Pulumi hands a
 * stack policy (`validateStack`): they see the whole stack at once, its dependency edges
 * and, for each resource, what the engine holds as its outputs, during preview as well
 * as update. No `@pulumi/*` import, so they are tested against plain objects built from
 * what the real program registers (policy/programStacks.test.ts).
 *
 * Only outputs reach a stack policy, never inputs. So the rules read facts where the
 * engine keeps them whatever the SDK is told: the count a service goes to from its
 * scaling resource (a custom resource: its provider returns its inputs as outputs, at
 * preview the engine does), the phase and the endpoint record's refusal from what those
 * components register as outputs. Component *inputs* are never read: with
 * `PULUMI_NODEJS_SKIP_COMPONENT_INPUTS` set the SDK sends none.
 */
import {
  COMPONENT_TYPES,
  DYNAMIC_TYPES,
  ENDPOINT_SWITCH_NAME,
  GATE_TYPES,
  KUBERNETES_REPLICA_PATCH_TYPES,
  MAINTENANCE_RUN_NAME,
  dynamicTypeToken,
} from "../lib/plan/names";
import { SCALE_DOWN_ORDER, type Phase, type ServiceKey, isServiceKey } from "../lib/plan/services";

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

export const MAINTENANCE_RUN_TYPE = COMPONENT_TYPES.maintenanceRun;
export { ENDPOINT_SWITCH_NAME, MAINTENANCE_RUN_NAME };

/** Services that cannot run without the database and Redis (they crash-loop or lose jobs). */
export const DATA_DEPENDENT_SERVICES: readonly ServiceKey[] = ["tines-app", "tines-sidekiq"];
export const DATA_STORES: readonly ServiceKey[] = ["postgres", "redis"];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function wholeNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

const ECS_SERVICE_COUNT = dynamicTypeToken(DYNAMIC_TYPES.ecsServiceCount);
const COMPOSE_SERVICE = dynamicTypeToken(DYNAMIC_TYPES.composeService);

/**
 * Where each resource that scales a service keeps the count it brings the service to.
 * Each reader touches only its own field: during preview another property may be unknown,
 * and the policy SDK fails a policy that reads an unknown value.
 */
const TARGET_READERS: Record<string, (props: Record<string, unknown>) => unknown> = {
  [COMPONENT_TYPES.serviceStep]: (props) => props.targetCount,
  [ECS_SERVICE_COUNT]: (props) => props.desiredCount,
  [COMPOSE_SERVICE]: (props) => props.count,
  ...Object.fromEntries(
    KUBERNETES_REPLICA_PATCH_TYPES.map((type) => [
      type,
      (props: Record<string, unknown>) => (isRecord(props.spec) ? props.spec.replicas : undefined),
    ]),
  ),
};

/** The count `resource` brings its service to; undefined for a resource that scales nothing. */
export function scaleTarget(resource: Pick<StackResource, "type" | "props">): number | undefined {
  const read = TARGET_READERS[resource.type];
  return read ? wholeNumber(read(resource.props)) : undefined;
}

/**
 * Every resource that stands for one service: its ServiceStep component and the
 * platform's resource that scales it, both named by the service key.
 */
export function serviceResources(resources: readonly StackResource[]): Map<ServiceKey, StackResource[]> {
  const byKey = new Map<ServiceKey, StackResource[]>();
  for (const resource of resources) {
    if (!isServiceKey(resource.name) || !(resource.type in TARGET_READERS)) continue;
    const list = byKey.get(resource.name) ?? [];
    list.push(resource);
    byKey.set(resource.name, list);
  }
  return byKey;
}

/** The phase the stack is being brought to, from its MaintenanceRun's outputs; undefined if not stated. */
export function stackPhase(resources: readonly StackResource[]): Phase | undefined {
  const run = resources.find((r) => r.type === MAINTENANCE_RUN_TYPE && r.name === MAINTENANCE_RUN_NAME);
  const phase = run?.props.phase;
  return phase === "running" || phase === "shutdown" ? phase : undefined;
}

/**
 * What `resource` waits for directly: its dependencies and those of its ancestors. A
 * component's `dependsOn` reaches the engine on the component alone; its children carry
 * no such edge, yet the SDK registers a child only once its parent is registered, which
 * is only once the parent's dependencies have finished.
 */
function directWaits(resource: StackResource): StackResource[] {
  const waits = [...resource.dependencies];
  for (let ancestor = resource.parent; ancestor; ancestor = ancestor.parent)
    waits.push(...ancestor.dependencies);
  return waits;
}

/** Everything `from` waits for: its (and its ancestors') dependencies, theirs, and so on. */
export function dependencyClosure(from: StackResource): Set<StackResource> {
  const seen = new Set<StackResource>();
  const queue = directWaits(from);
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...directWaits(next));
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
    (byKey.get(key) ?? []).map((r) => ({ r, target: scaleTarget(r) })).filter((t) => t.target !== undefined);
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
 * (b) DATABASE_HOST / REDIS_URL change only while Tines is shut down. The program
 * registers `endpoint-switch` whenever endpoints are configured: as the write at the end
 * of a shutdown, and otherwise (phase running, or an application service kept running)
 * as a record whose provider refuses any change; the component states that refusal in
 * its `refusal` output. So a switch may be without a refusal only in phase shutdown, and
 * then only after every service step has finished.
 */
export function checkEndpointChangeOnlyInShutdown(resources: readonly StackResource[]): Violation[] {
  const component = resources.find(
    (r) => r.type === GATE_TYPES[ENDPOINT_SWITCH_NAME].component && r.name === ENDPOINT_SWITCH_NAME,
  );
  if (!component) return [];
  const refusal = component.props.refusal;
  if (typeof refusal === "string" && refusal !== "") return [];
  const phase = stackPhase(resources);
  if (phase !== "shutdown") {
    return [
      {
        urn: component.urn,
        message:
          `endpoint-switch may change DATABASE_HOST / REDIS_URL while the phase is ${phase ?? "not stated"}; ` +
          `endpoints may change only in phase shutdown (pulumi config set phase shutdown)`,
      },
    ];
  }
  const switches = resources.filter((r) => r.name === ENDPOINT_SWITCH_NAME);
  const violations: Violation[] = [];
  for (const [key, steps] of serviceResources(resources)) {
    if (!waitsFor(switches, steps)) {
      violations.push({
        urn: component.urn,
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
