/**
 * The endpoint guard and the gates as the program registers them, under Pulumi mocks in
 * preview mode. The mock plays the engine's part at preview: for the endpoint switch it runs
 * the provider's `check` and `diff` against a previous state, as `pulumi preview` does.
 */
import { describe, expect, it, vi } from "vitest";
import { sha256 } from "../../lib/endpoints/guard";
import type { Phase, Platform } from "../../lib/plan/services";
import { runProgram, type EngineOptions } from "../../testkit/mocks";

vi.mock("../provider/defineProvider", async (original) =>
  (await import("../../testkit/mocks")).withStandInProviders(await original()),
);

const OLD_URL = "redis://:0ldSecret@old-redis:6379/1";
const NEW_URL = "redis://:N3wSecret@new-redis.internal:6379/1";
const SWITCH = "pulumi-nodejs:dynamic/endpoints:Switch";
const PROPAGATION = "pulumi-nodejs:dynamic/endpoints:Propagation";
const SERVICES = ["pulumi-nodejs:dynamic/compose:Service", "kubernetes:apps/v1:DeploymentPatch"];

type Previous = NonNullable<NonNullable<EngineOptions["consult"]>["previous"]>;

/**
 * The program at preview with `endpoints` set, the switch's previous state and what reads of
 * the cluster return: the switch's refusal stops the update, as the engine does.
 */
async function run(
  config: { phase: Phase; platform?: Platform; keepRunning?: string[] },
  endpoints: Record<string, unknown>,
  previous?: Previous,
  readState: Record<string, unknown> = {},
) {
  return runProgram(
    {
      platform: "compose",
      compose: { projectName: "tines", projectDirectory: "/srv/tines" },
      kubernetes: { namespace: "tines" },
      services: { "tines-app": 2, "tines-sidekiq": 2, postgres: 1 },
      sidekiq: { redisUrl: "redis://127.0.0.1:1/0" },
      ...config,
      endpoints,
    },
    {
      preview: true,
      consult: { types: [SWITCH], previous },
      state: (r) => {
        if (r.type === "kubernetes:core/v1:Secret" || r.type === "kubernetes:core/v1:ConfigMap")
          return readState;
        if (r.id !== undefined) return { spec: { replicas: 2 } };
        if (r.type === SWITCH) return previous?.outputs;
        const count = r.inputs.count ?? r.inputs.targetCount;
        return count === undefined ? undefined : { reachedCount: count, previousCount: 2 };
      },
    },
  );
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
    const { registrations, errors } = await run(
      { phase: "running" },
      { databaseHost: "new-db.internal", redisUrl: OLD_URL },
      applied("old-db", OLD_URL),
    );
    expect(errors).toEqual([
      "endpoint-switch: refused to change endpoints.databaseHost: phase is running; endpoints may change only with phase shutdown. " +
        "Set phase shutdown and run pulumi up first (all services down), then change endpoints; nothing was changed",
    ]);
    expect(registrations.map((r) => r.type)).not.toContain(PROPAGATION);
    expect(registrations.filter((r) => SERVICES.includes(r.type))).toEqual([]);
  });

  it("lets an unchanged endpoint through in running phase: switch record, then the gate, then services in startup order", async () => {
    const { registrations, errors } = await run(
      { phase: "running" },
      { databaseHost: "old-db", redisUrl: OLD_URL },
      applied("old-db", OLD_URL),
    );
    expect(errors).toEqual([]);
    const order = registrations
      .filter((r) => [SWITCH, PROPAGATION, ...SERVICES].includes(r.type))
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
    const { errors } = await run(
      { phase: "shutdown", keepRunning: ["tines-app"] },
      { databaseHost: "new-db.internal" },
      applied("old-db", OLD_URL),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /refused to change endpoints\.databaseHost: tines-app would stay up \(keepRunning\)/,
    );
  });

  it("in shutdown registers the switch after the last service step, with the reached counts of the application tier", async () => {
    const { registrations, errors } = await run(
      { phase: "shutdown" },
      { databaseHost: "new-db.internal", redisUrl: NEW_URL },
      applied("old-db", OLD_URL),
    );
    expect(errors).toEqual([]);
    const sw = registrations.find((r) => r.type === SWITCH)!;
    const services = registrations.filter((r) => SERVICES.includes(r.type));
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
    const live = {
      data: {
        DATABASE_HOST: Buffer.from("old-db").toString("base64"),
        REDIS_URL: Buffer.from(OLD_URL).toString("base64"),
        OTHER: "eA==",
      },
    };
    const { registrations, errors } = await run(
      { phase: "shutdown", platform: "kubernetes" },
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
    const { errors, registrations } = await run(
      { phase: "running", platform: "kubernetes" },
      { databaseHost: "new-db.internal", target: { kind: "kubernetes-configmap", name: "tines-env" } },
      undefined,
      { data: { DATABASE_HOST: "old-db" } },
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/refused to change endpoints\.databaseHost: phase is running/);
    expect(registrations.map((r) => r.type)).not.toContain("kubernetes:core/v1:ConfigMapPatch");
    expect(registrations.filter((r) => SERVICES.includes(r.type))).toEqual([]);
  });
});
