/**
 * The policy pack's rules against what the program really registers: the real index.ts
 * under Pulumi mocks, for every phase × platform × gate combination, at preview and at
 * update, with and without component inputs sent. Every one of those stacks must pass;
 * the same stacks, broken the way an edited program could break them, must not.
 */
import { describe, expect, it, vi } from "vitest";
import { buildPlan } from "../lib/plan/plan";
import { parseStackConfig } from "../lib/config/stackConfig";
import { COMPONENT_TYPES, ENDPOINT_SWITCH_NAME, GATE_TYPES, MAINTENANCE_RUN_NAME } from "../lib/plan/names";
import { SCALE_DOWN_ORDER, type Phase, type Platform } from "../lib/plan/services";
import {
  GATES,
  combinationConfig,
  programStack,
  toPolicyResources,
  type EngineResource,
  type Gate,
} from "../testkit/programStacks";
import {
  checkEndpointChangeOnlyInShutdown,
  checkNoAppWithoutDataStores,
  checkStepOrder,
  type StackResource,
} from "./rules";

// As in test/program.test.ts: under vitest's transform the database gates' providers
// cannot be serialized, and mocks never call a provider, so every gate gets a stand-in.
vi.mock("../components/provider/defineProvider", async (original) =>
  (await import("../testkit/mocks")).withStandInProviders(await original()),
);

/** Every subset of the gates, in a stable order. */
const GATE_SETS: Gate[][] = Array.from({ length: 1 << GATES.length }, (_, bits) =>
  GATES.filter((_, i) => bits & (1 << i)),
);

/** What a provider's create returns on top of its inputs: the counts reached. */
function providerOutputs(r: { type: string; inputs: Record<string, unknown> }): Record<string, unknown> {
  const target = r.inputs.desiredCount ?? r.inputs.count ?? r.inputs.targetCount;
  return typeof target === "number" ? { previousCount: target + 1, reachedCount: target } : {};
}

function violations(resources: StackResource[]) {
  return [
    ...checkNoAppWithoutDataStores(resources),
    ...checkEndpointChangeOnlyInShutdown(resources),
    ...checkStepOrder(resources),
  ].map((v) => v.message);
}

const run = (phase: Phase, platform: Platform, gates: readonly Gate[], preview: boolean, skip: boolean) =>
  programStack(combinationConfig(phase, platform, gates), {
    preview,
    skipComponentInputs: skip,
    providerOutputs,
  });

const byName = (resources: EngineResource[], name: string, type?: string) =>
  resources.find((r) => r.name === name && (type === undefined || r.type === type))!;

/**
 * The gate sets of one phase and platform, grouped by the plan they produce: combinations
 * with the same steps register the same resources (in phase running, sidekiq and database
 * settings register nothing), so each group runs once, named by every set it stands for.
 */
function distinctCombinations(phase: Phase, platform: Platform): Array<[string, Gate[]]> {
  const groups = new Map<string, { labels: string[]; gates: Gate[] }>();
  for (const gates of GATE_SETS) {
    const config = parseStackConfig(combinationConfig(phase, platform, gates));
    const key = buildPlan(config)
      .steps.map((s) => s.name)
      .join(",");
    const group = groups.get(key) ?? { labels: [], gates };
    group.labels.push(gates.join("+") || "no gates");
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => [g.labels.join(" | "), g.gates]);
}

describe.each(["ecs", "kubernetes", "compose"] as const)("the real program on %s", (platform) => {
  describe.each(["shutdown", "running"] as const)("phase %s", (phase) => {
    it.each(distinctCombinations(phase, platform))(
      "%s: passes every rule at preview and at update",
      async (_label, gates) => {
        // Component inputs never reach a stack policy; skipping them must change nothing.
        const withInputs = gates.length === GATES.length;
        for (const preview of [true, false]) {
          for (const skip of withInputs ? [false, true] : [true]) {
            const stack = await run(phase, platform, gates, preview, skip);
            const context = `${platform} ${phase} ${gates.join("+")} preview=${preview} skipInputs=${skip}`;
            if (skip) {
              expect(
                [...stack.componentInputs.values()].every((i) => Object.keys(i).length === 0),
                context,
              ).toBe(true);
            }
            expect(violations(stack.policyResources()), context).toEqual([]);
          }
        }
      },
    );
  });
});

describe("the same stacks, broken, are refused", () => {
  it("an endpoint switch that may write in phase running (no refusal stated)", async () => {
    const stack = await run("running", "compose", ["endpoints"], true, true);
    const component = byName(
      stack.resources,
      ENDPOINT_SWITCH_NAME,
      GATE_TYPES[ENDPOINT_SWITCH_NAME].component,
    );
    expect(component.outputs.refusal).toMatch(/^phase is running/);
    delete component.outputs.refusal;
    expect(violations(toPolicyResources(stack.resources))).toEqual([
      expect.stringMatching(
        /^endpoint-switch may change DATABASE_HOST \/ REDIS_URL while the phase is running;/,
      ),
    ]);
  });

  it("an endpoint switch in shutdown that does not wait for the last service step", async () => {
    const stack = await run("shutdown", "ecs", ["endpoints", "sidekiq"], false, true);
    for (const r of stack.resources.filter((r) => r.name === ENDPOINT_SWITCH_NAME)) r.dependencies = [];
    expect(violations(toPolicyResources(stack.resources))).toEqual(
      SCALE_DOWN_ORDER.map(
        (key) =>
          `endpoint-switch does not wait for ${key}; endpoints may change only after every service step has finished`,
      ),
    );
  });

  it.each(["ecs", "kubernetes", "compose"] as const)(
    "a step that does not wait for the one before, and an app up while redis is at 0 (%s)",
    async (platform) => {
      const stack = await run("running", platform, ["sidekiq"], false, true);
      // An edited program: tines-app started without waiting, while redis is held at 0.
      for (const r of stack.resources.filter((r) => r.name === "tines-app")) r.dependencies = [];
      for (const r of stack.resources.filter((r) => r.name === "redis")) {
        if ("desiredCount" in r.outputs) r.outputs.desiredCount = 0;
        if ("count" in r.outputs) r.outputs.count = 0;
        if ("targetCount" in r.outputs) r.outputs.targetCount = 0;
        const spec = r.outputs.spec as { replicas?: number } | undefined;
        if (spec?.replicas !== undefined) spec.replicas = 0;
      }
      expect(violations(toPolicyResources(stack.resources))).toEqual([
        expect.stringMatching(/^tines-app is scaled to 2 while redis is scaled to 0/),
        expect.stringMatching(/^tines-sidekiq is scaled to 3 while redis is scaled to 0/),
        expect.stringMatching(/^tines-app does not wait for tines-sidekiq; in running/),
      ]);
    },
  );

  it("a stack whose MaintenanceRun does not state the phase", async () => {
    const stack = await run("shutdown", "ecs", [], true, true);
    byName(stack.resources, MAINTENANCE_RUN_NAME, COMPONENT_TYPES.maintenanceRun).outputs = {};
    expect(violations(toPolicyResources(stack.resources))).toEqual([
      expect.stringMatching(
        /^no tines-maintenance:index:MaintenanceRun named "maintenance" states the phase/,
      ),
    ]);
  });
});
