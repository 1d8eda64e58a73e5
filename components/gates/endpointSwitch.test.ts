/**
 * The endpoint guard and the gates as the program registers them, under Pulumi mocks in
 * preview mode. The mock plays the engine's part at preview: for our dynamic resources it
 * runs the provider's `check` and `diff` against a previous state, as `pulumi preview` does.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { buildPlan, type Plan, type PlanGates } from "../../lib/plan/plan";
import type { CoreConfig } from "../../lib/config/core";
import { parseEndpointsConfig } from "../../lib/endpoints/config";
import { sha256 } from "../../lib/endpoints/guard";
import { endpointSwitchProvider } from "./endpointSwitchResource";
import { EndpointSwitch } from "./endpointSwitch";
import { EndpointPropagationGate } from "./endpointPropagation";

const OLD_URL = "redis://:0ldSecret@old-redis:6379/1";
const NEW_URL = "redis://:N3wSecret@new-redis.internal:6379/1";
const SWITCH = "pulumi-nodejs:dynamic/endpoints:Switch";
const PROPAGATION = "pulumi-nodejs:dynamic/endpoints:Propagation";

interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  start: number;
  end: number;
  id?: string;
}

function core(phase: CoreConfig["phase"], platform: CoreConfig["platform"] = "compose"): CoreConfig {
  return {
    phase,
    platform,
    services: [
      { key: "tines-app", count: 2 },
      { key: "tines-sidekiq", count: 2 },
      { key: "postgres", count: 1 },
    ],
    keepRunning: [],
    stepTimeoutSeconds: 900,
    ecs: { cluster: "tines" },
    kubernetes: { namespace: "tines" },
    compose: { projectName: "tines", projectDirectory: "/srv/tines" },
  };
}

// The plan only needs to know that endpoints are configured; each test's own endpoints are parsed in run().
const gates: PlanGates = {
  endpoints: parseEndpointsConfig(
    { databaseHost: "db" },
    { platform: "compose", compose: { projectDirectory: "/srv/tines" } },
  ),
};

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** The engine hands dynamic providers plain values; the mock monitor passes secrets wrapped. */
function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record) return unwrap(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

class FakeService extends pulumi.CustomResource {
  declare readonly targetCount: pulumi.Output<number>;
  constructor(name: string, targetCount: number, opts: pulumi.CustomResourceOptions) {
    super("test:index:Service", name, { targetCount }, opts);
  }
}

interface Previous {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** Run a program shaped as index.ts wires these components, with a previous state for the switch. */
async function run(
  plan: Plan,
  rawEndpoints: Record<string, unknown>,
  previous?: Previous,
  readState: Record<string, unknown> = {},
): Promise<{ registrations: Registration[]; errors: string[]; switchResource?: EndpointSwitch }> {
  const registrations: Registration[] = [];
  const errors: string[] = [];
  let clock = 0;
  pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const start = ++clock;
        await new Promise((r) => setTimeout(r, 2));
        const inputs = unwrap(args.inputs) as Record<string, unknown>;
        if (args.type === SWITCH) {
          try {
            const checked = await endpointSwitchProvider.check!(previous?.inputs ?? {}, inputs);
            // Check failures stop the engine as a thrown error would.
            if (checked.failures?.length) throw new Error(checked.failures.map((f) => f.reason).join("; "));
            if (previous)
              await endpointSwitchProvider.diff!("endpoint-switch", previous.outputs, checked.inputs);
          } catch (error) {
            errors.push((error as Error).message);
            // The engine stops the update here: nothing that depends on it is registered.
            return new Promise<never>(() => undefined);
          }
        }
        registrations.push({ type: args.type, name: args.name, inputs, start, end: ++clock, id: args.id });
        const state = args.id
          ? readState
          : { ...inputs, ...(args.type === SWITCH ? (previous?.outputs ?? {}) : {}) };
        return { id: args.id ?? undefined, state };
      },
      call: (args) => args.inputs,
    },
    "tines-maintenance",
    "test",
    true,
  );
  const endpoints = parseEndpointsConfig(rawEndpoints, {
    platform: plan.platform,
    compose: { projectDirectory: "/srv/tines" },
  });
  const services: pulumi.Resource[] = [];
  let switchResource: EndpointSwitch | undefined;
  let last: pulumi.Resource | undefined;
  const reached: Record<string, pulumi.Output<number>> = {};
  if (plan.phase === "running") {
    // The record the guard compares with; the propagation gate waits the TTL from its switchedAt.
    switchResource = new EndpointSwitch("endpoint-switch", {
      plan,
      endpoints,
      kubernetesNamespace: "tines",
      composeProjectDirectory: "/srv/tines",
    });
  }
  for (const step of plan.steps) {
    const dependsOn = last ? [last] : [];
    if (step.type === "gate" && step.name === "endpoint-propagation") {
      last = new EndpointPropagationGate(
        "endpoint-propagation",
        { endpoints, switchedAt: switchResource!.switchedAt },
        { dependsOn: [...dependsOn, switchResource!.done] },
      );
    } else if (step.type === "gate" && step.name === "endpoint-switch") {
      switchResource = new EndpointSwitch(
        "endpoint-switch",
        { plan, endpoints, kubernetesNamespace: "tines", composeProjectDirectory: "/srv/tines", reached },
        { dependsOn },
      );
      last = switchResource;
    } else if (step.type === "service") {
      const service = new FakeService(step.name, step.targetCount, { dependsOn });
      reached[step.name] = service.targetCount;
      services.push(service);
      last = service;
    }
  }
  // Let every registration settle (or fail) before looking.
  const deadline = Date.now() + 20_000;
  while (!registrations.some((r) => r.type === SWITCH) && errors.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 300));
  return { registrations, errors, switchResource };
}

const applied = (databaseHost: string, redisUrl: string): Previous => ({
  inputs: { databaseHost, redisUrl },
  outputs: {
    target: "/srv/tines/.env",
    databaseHost,
    redisHost: "old-redis",
    redisUrlSha256: sha256(redisUrl),
    switchedAt: 1_000,
  },
});

describe("endpoint guard at preview (Pulumi mocks)", () => {
  it("refuses a change with phase running before the propagation gate or any service is registered", async () => {
    const plan = buildPlan(core("running"), gates);
    expect(plan.steps[0]).toMatchObject({ type: "gate", name: "endpoint-propagation" });
    const { registrations, errors } = await run(
      plan,
      { databaseHost: "new-db.internal", redisUrl: OLD_URL },
      applied("old-db", OLD_URL),
    );
    expect(errors).toEqual([
      "endpoint-switch: refused to change endpoints.databaseHost: phase is running; endpoints may change only with phase shutdown. " +
        "Set phase shutdown and run pulumi up first (all services down), then change endpoints; nothing was changed",
    ]);
    expect(registrations.map((r) => r.type)).not.toContain(PROPAGATION);
    expect(registrations.filter((r) => r.type === "test:index:Service")).toEqual([]);
  });

  it("lets an unchanged endpoint through in running phase: switch record, then the gate, then services in startup order", async () => {
    const plan = buildPlan(core("running"), gates);
    const { registrations, errors } = await run(
      plan,
      { databaseHost: "old-db", redisUrl: OLD_URL },
      applied("old-db", OLD_URL),
    );
    expect(errors).toEqual([]);
    const order = registrations
      .filter((r) => [SWITCH, PROPAGATION, "test:index:Service"].includes(r.type))
      .map((r) => r.name);
    expect(order).toEqual([
      "endpoint-switch",
      "endpoint-propagation",
      "postgres",
      "tines-sidekiq",
      "tines-app",
    ]);
    const gate = registrations.find((r) => r.type === PROPAGATION)!;
    const sw = registrations.find((r) => r.type === SWITCH)!;
    expect(gate.start).toBeGreaterThan(sw.end);
    expect(gate.inputs).toMatchObject({
      switchedAt: 1_000,
      dnsServers: [],
      timeoutSeconds: 900,
      intervalSeconds: 5,
    });
    expect(sw.inputs).toMatchObject({ phase: "running", refusal: expect.stringMatching(/phase is running/) });
  });

  it("refuses in shutdown when an application service is kept running", async () => {
    const config = { ...core("shutdown"), keepRunning: ["tines-app" as const] };
    const { errors } = await run(
      buildPlan(config, gates),
      { databaseHost: "new-db.internal" },
      applied("old-db", OLD_URL),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /refused to change endpoints\.databaseHost: tines-app would stay up \(keepRunning\)/,
    );
  });

  it("in shutdown registers the switch after the last service step, with the reached counts of the application tier", async () => {
    const plan = buildPlan(core("shutdown"), gates);
    const { registrations, errors } = await run(
      plan,
      { databaseHost: "new-db.internal", redisUrl: NEW_URL },
      applied("old-db", OLD_URL),
    );
    expect(errors).toEqual([]);
    const sw = registrations.find((r) => r.type === SWITCH)!;
    const services = registrations.filter((r) => r.type === "test:index:Service");
    expect(services.map((s) => s.name)).toEqual(["tines-app", "tines-sidekiq", "postgres"]);
    expect(sw.start).toBeGreaterThan(Math.max(...services.map((s) => s.end)));
    expect(sw.inputs).toMatchObject({
      phase: "shutdown",
      target: { kind: "env-file", path: "/srv/tines/.env" },
      databaseHost: "new-db.internal",
      reached: { "tines-app": 0, "tines-sidekiq": 0 },
    });
    expect(sw.inputs.refusal).toBeUndefined();
    expect(Object.keys(sw.inputs.reached as object)).not.toContain("postgres");
  });

  it("on Kubernetes reads the live Secret, and patches only the two keys after the switch", async () => {
    const plan = buildPlan(core("shutdown", "kubernetes"), gates);
    const live = {
      data: {
        DATABASE_HOST: Buffer.from("old-db").toString("base64"),
        REDIS_URL: Buffer.from(OLD_URL).toString("base64"),
        OTHER: "eA==",
      },
    };
    const { registrations, errors } = await run(
      plan,
      {
        databaseHost: "new-db.internal",
        redisUrl: NEW_URL,
        target: { kind: "kubernetes-secret", name: "tines-env" },
      },
      undefined,
      live,
    );
    expect(errors).toEqual([]);
    const read = registrations.find((r) => r.type === "kubernetes:core/v1:Secret")!;
    expect(read.id).toBe("tines/tines-env");
    const sw = registrations.find((r) => r.type === SWITCH)!;
    expect(sw.inputs.live).toEqual({ databaseHost: "old-db", redisUrl: OLD_URL });
    const patch = registrations.find((r) => r.type === "kubernetes:core/v1:SecretPatch")!;
    expect(patch.start).toBeGreaterThan(sw.end);
    expect(patch.inputs).toMatchObject({
      metadata: { name: "tines-env", namespace: "tines", annotations: { "pulumi.com/patchForce": "true" } },
      data: {
        DATABASE_HOST: Buffer.from("new-db.internal").toString("base64"),
        REDIS_URL: Buffer.from(NEW_URL).toString("base64"),
      },
    });
    expect(Object.keys(patch.inputs.data as object).sort()).toEqual(["DATABASE_HOST", "REDIS_URL"]);
  });

  it("on Kubernetes in running phase, a first registration compares with the live Secret and refuses", async () => {
    const plan = buildPlan(core("running", "kubernetes"), gates);
    const live = { data: { DATABASE_HOST: Buffer.from("old-db").toString("base64") } };
    const { errors, registrations } = await run(
      plan,
      { databaseHost: "new-db.internal", target: { kind: "kubernetes-configmap", name: "tines-env" } },
      undefined,
      { data: { DATABASE_HOST: "old-db" } },
    );
    void live;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/refused to change endpoints\.databaseHost: phase is running/);
    expect(registrations.map((r) => r.type)).not.toContain("kubernetes:core/v1:ConfigMapPatch");
    expect(registrations.map((r) => r.type)).not.toContain("test:index:Service");
  });
});
