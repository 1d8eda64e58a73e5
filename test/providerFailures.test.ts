/**
 * Every provider's failure paths, the way the CLI runs them: each provider the program defines
 * is serialized from the code as the CLI loads it (testkit/runSerialized.ts `serializeAll`) and
 * run by the Pulumi CLI's own dynamic-provider host, called over gRPC as the engine calls it
 * (testkit/providerHost.ts). For each method that can fail, with inputs that point at nothing
 * or make no sense, the line the operator sees (the error the engine gets, each check failure,
 * and what the host printed) must name the cause, and carry no JavaScript internals and no
 * secret. Adding a provider without its cases here fails the first test.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DYNAMIC_TYPES, GATE_TYPES, dynamicTypeToken, type DynamicType } from "../lib/plan/names";
import {
  startProviderHost,
  type CallRequest,
  type HostAnswer,
  type Method,
  type ProviderHost,
} from "../testkit/providerHost";
import { serializeAll } from "../testkit/runSerialized";
import { freePort } from "../testkit/servers";

const SECRET = `S3cret-${Math.random().toString(36).slice(2, 10)}`;
/** What only JavaScript, not an operator, would write. */
const INTERNALS =
  /\bat \S+ \(|\bat (\/|node:)|\[object \w+\]|\bundefined\b|\bnull\b|\b(Type|Reference|Syntax|Range)Error\b|incompatible receiver|is not a function|Cannot read propert|\.[jt]s:\d+/;

interface Case {
  /** The inputs (check, create, update) or the properties (read, delete). */
  news: Record<string, unknown>;
  /** check, diff: the previous inputs or state; update: the previous state. */
  olds?: Record<string, unknown>;
  /** What the operator's line must say; "passes" for a method that cannot fail (a pure diff, a delete that keeps everything). */
  cause: RegExp | "passes";
}

type Cases = Partial<Record<Method, Case>> &
  Pick<Record<Method, Case>, "check" | "diff" | "create" | "update" | "delete">;

const dir = mkdtempSync(path.join(os.tmpdir(), "provider-failures-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let closed: number;
let cases: Record<string, Cases>;
let texts: Record<string, string>;
let host: ProviderHost;

const token = (type: DynamicType) => dynamicTypeToken(type);

beforeAll(async () => {
  // Nothing listens here: every connection is refused.
  closed = await freePort();
  const redisUrl = `redis://tines:${SECRET}@127.0.0.1:${closed}/0`;
  const postgresUrl = `postgresql://tines:${SECRET}@127.0.0.1:${closed}/tines`;
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "current-context: nowhere",
      `clusters: [{ name: nowhere, cluster: { server: "https://127.0.0.1:${closed}", insecure-skip-tls-verify: true } }]`,
      `users: [{ name: tester, user: { token: "${SECRET}" } }]`,
      "contexts: [{ name: nowhere, context: { cluster: nowhere, user: tester } }]",
      "",
    ].join("\n"),
  );
  const preflight = {
    redisUrl,
    namespace: "",
    trigger: "run-2",
    mode: "refuse",
    preflightSeconds: 0,
    intervalSeconds: 0.2,
    windowSeconds: 30,
    maxSize: 0,
  };
  const drain = { ...preflight, settleSeconds: 0, maxBusy: 0, timeoutSeconds: 1 };
  const carry = {
    fromUrl: redisUrl,
    toUrl: `rediss://:${SECRET}@127.0.0.1:${closed}/2`,
    namespace: "",
    mode: "carry",
    trigger: "run-2",
  };
  const backup = {
    url: postgresUrl,
    stack: "test",
    phase: "shutdown",
    directory: dir,
    compressLevel: 1,
    trigger: "run-2",
  };
  const migration = {
    sourceUrl: postgresUrl,
    targetUrl: `postgresql://tines:${SECRET}@127.0.0.1:${closed}/tines_new`,
    jobs: 0,
    allowNonEmptyTarget: false,
    noOwner: false,
    checksumMaxTableMiB: 1,
    trigger: "run-2",
  };
  const cutover = { ...migration, trigger: "", stack: "test", catchUpTimeoutSeconds: 5 };
  const presync = {
    sourceUrl: migration.sourceUrl,
    targetUrl: migration.targetUrl,
    stack: "test",
    jobs: 0,
    noOwner: false,
    checksumMaxTableMiB: 1,
    catchUpTimeoutSeconds: 5,
    trigger: "",
    phase: "running",
  };
  /** The state of a presync set up in running and standing through a shutdown. */
  const presyncState = {
    ...presync,
    phase: "shutdown",
    name: "tines_presync_0123456789",
    state: "streaming",
  };
  const health = {
    url: `http://tines:${SECRET}@127.0.0.1:${closed}/is_up`,
    timeoutSeconds: 1,
    intervalSeconds: 0.2,
    windowStartedAt: "w2",
  };
  const propagation = {
    checks: [{ kind: "redis", host: "127.0.0.1", port: closed, url: redisUrl }],
    dnsServers: [],
    ttlSeconds: 0,
    timeoutSeconds: 1,
    intervalSeconds: 0.2,
  };
  const endpointSwitch = {
    phase: "shutdown",
    target: { kind: "env-file", path: path.join(dir, "missing", ".env") },
    keys: { databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" },
    databaseHost: "new-db.internal",
    redisUrl,
    reached: {},
  };
  const window = {
    phase: "shutdown",
    allowVersionChange: false,
    settings: {},
    source: { platform: "compose", projectName: "tines", dockerHost: `unix://${dir}/no-docker.sock` },
    workloads: { "tines-app": { name: "tines-app" } },
  };
  const ecs = {
    cluster: "tines",
    service: "tines-app",
    desiredCount: 0,
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${closed}`,
    timeoutSeconds: 5,
    pollSeconds: 1,
  };
  const compose = {
    projectName: "tines",
    service: "tines-app",
    count: 0,
    dockerHost: `unix://${dir}/no-docker.sock`,
    timeoutSeconds: 5,
    pollSeconds: 1,
  };
  const workload = { namespace: "tines", kind: "Deployment", name: "tines-app" };
  const refused = /(connection refused|ECONNREFUSED)/;
  const noDocker = /Docker engine at unix:\/\/\S+no-docker\.sock: .*ENOENT/;
  const unreachable = /Kubernetes API https:\/\/127\.0\.0\.1:\d+ \(context nowhere\) unreachable/;
  const keeps: Case = { news: {}, cause: "passes" };
  cases = {
    [token(GATE_TYPES["sidekiq-preflight"].resources.check)]: {
      check: { news: {}, cause: /redis:\/\/ or rediss:\/\/ URL/ },
      diff: { olds: { trigger: "run-1" }, news: preflight, cause: "passes" },
      create: { news: preflight, cause: refused },
      update: { olds: { trigger: "run-1" }, news: preflight, cause: refused },
      delete: keeps,
    },
    [token(GATE_TYPES["sidekiq-drain"].resources.drain)]: {
      check: { news: { ...drain, maxSize: -1 }, cause: /whole number/ },
      diff: { olds: { trigger: "run-1" }, news: drain, cause: "passes" },
      create: { news: drain, cause: refused },
      update: { olds: { trigger: "run-1" }, news: drain, cause: refused },
      delete: keeps,
    },
    [token(GATE_TYPES["sidekiq-carry"].resources.carry)]: {
      check: {
        news: { ...carry, toUrl: "http://new-redis", mode: "copy" },
        cause: /toUrl: must be a redis:\/\/ .*\n.*mode: must be one of: carry, discard/,
      },
      diff: { olds: { trigger: "run-1" }, news: carry, cause: "passes" },
      create: {
        news: carry,
        cause:
          /sidekiq\.redisUrl: the old Redis cannot be reached: Redis 127\.0\.0\.1:\d+ db 0: connection refused; .*endpoints\.redisUrl: the new Redis cannot be reached/,
      },
      update: {
        olds: { trigger: "run-1" },
        news: carry,
        cause:
          /endpoints\.redisUrl: the new Redis cannot be reached: Redis 127\.0\.0\.1:\d+ db 2 \(TLS\): connection refused; start it or correct endpoints\.redisUrl/,
      },
      delete: keeps,
    },
    [token(GATE_TYPES["database-backup"].resources.dump)]: {
      check: { news: {}, cause: /database\.url is required/ },
      diff: { olds: { trigger: "run-1" }, news: backup, cause: "passes" },
      create: { news: backup, cause: /cannot connect to the database .*ECONNREFUSED/ },
      update: {
        olds: { trigger: "run-1", destination: dir },
        news: backup,
        cause: /cannot connect to the database .*ECONNREFUSED/,
      },
      delete: keeps,
    },
    [token(GATE_TYPES["database-migration"].resources.copy)]: {
      check: { news: {}, cause: /database\.migration\.targetUrl is required/ },
      diff: { olds: { trigger: "" }, news: migration, cause: "passes" },
      create: { news: migration, cause: refused },
      update: { olds: { trigger: "run-1" }, news: migration, cause: refused },
      delete: keeps,
    },
    [token(GATE_TYPES["database-migration"].resources.cutover)]: {
      check: { news: cutover, cause: /database-migration: .*nothing was changed: .*ECONNREFUSED/ },
      diff: { olds: { trigger: "" }, news: cutover, cause: "passes" },
      create: { news: cutover, cause: refused },
      update: { olds: { trigger: "run-1" }, news: cutover, cause: refused },
      delete: keeps,
    },
    [token(GATE_TYPES["database-presync"].resources.presync)]: {
      check: {
        news: presync,
        cause: /database-presync: .*nothing was changed: .*ECONNREFUSED/,
      },
      diff: {
        olds: { trigger: "", phase: "running" },
        news: { ...presync, phase: "shutdown" },
        cause: "passes",
      },
      create: { news: presync, cause: refused },
      // The startup after the window, looking for a slot left on the source.
      update: { olds: presyncState, news: presync, cause: refused },
      read: { news: presyncState, cause: refused },
      delete: { news: presyncState, cause: refused },
    },
    [token(GATE_TYPES["tines-health"].resources.check)]: {
      check: { news: {}, cause: /health\.url is required/ },
      diff: { olds: { windowStartedAt: "w1" }, news: health, cause: "passes" },
      create: { news: health, cause: /did not report healthy .* ECONNREFUSED/ },
      update: {
        olds: { windowStartedAt: "w1" },
        news: health,
        cause: /did not report healthy .* ECONNREFUSED/,
      },
      delete: keeps,
    },
    [token(GATE_TYPES["endpoint-propagation"].resources.check)]: {
      check: { news: propagation, cause: "passes" },
      diff: { olds: {}, news: propagation, cause: "passes" },
      create: { news: propagation, cause: /redis 127\.0\.0\.1:\d+ tcp failed: .*ECONNREFUSED/ },
      update: { olds: {}, news: propagation, cause: /redis 127\.0\.0\.1:\d+ tcp failed: .*ECONNREFUSED/ },
      delete: keeps,
    },
    [token(GATE_TYPES["endpoint-switch"].resources.switch)]: {
      check: {
        olds: { ...endpointSwitch, databaseHost: "old-db" },
        news: { ...endpointSwitch, phase: "running", refusal: "phase is running" },
        cause: /refused to change endpoints\.databaseHost: phase is running/,
      },
      diff: {
        olds: { target: path.join(dir, "missing", ".env"), databaseHost: "old-db" },
        news: { ...endpointSwitch, phase: "running", refusal: "phase is running" },
        cause: /refused to change endpoints\.databaseHost/,
      },
      create: { news: endpointSwitch, cause: /reading \S+missing\/\.env failed: ENOENT/ },
      update: { olds: {}, news: endpointSwitch, cause: /reading \S+missing\/\.env failed: ENOENT/ },
      delete: keeps,
    },
    [token(GATE_TYPES["maintenance-window"].resources.record)]: {
      check: { news: window, cause: "passes" },
      diff: { olds: {}, news: window, cause: noDocker },
      create: { news: window, cause: noDocker },
      update: { olds: {}, news: window, cause: noDocker },
      delete: keeps,
    },
    [token(DYNAMIC_TYPES.ecsServiceCount)]: {
      check: { news: { ...ecs, desiredCount: -1 }, cause: /whole number/ },
      diff: { olds: ecs, news: { ...ecs, desiredCount: 2 }, cause: "passes" },
      create: { news: ecs, cause: refused },
      update: { olds: ecs, news: ecs, cause: refused },
      read: { news: { ...ecs, previousCount: 1, reachedCount: 0 }, cause: refused },
      delete: keeps,
    },
    [token(DYNAMIC_TYPES.composeService)]: {
      check: { news: { ...compose, dockerHost: "ftp://x" }, cause: /unix:\/\/|tcp:\/\// },
      diff: { olds: compose, news: { ...compose, count: 2 }, cause: "passes" },
      create: { news: compose, cause: noDocker },
      update: { olds: compose, news: compose, cause: noDocker },
      read: {
        news: { ...compose, previousCount: 1, reachedCount: 0 },
        cause: noDocker,
      },
      delete: keeps,
    },
    [token(DYNAMIC_TYPES.kubernetesRollout)]: {
      check: { news: { ...workload, targetCount: -1, timeoutSeconds: 5 }, cause: /whole number/ },
      diff: { olds: workload, news: { ...workload, targetCount: 1 }, cause: "passes" },
      create: {
        news: { ...workload, targetCount: 0, timeoutSeconds: 2, pollSeconds: 1 },
        cause: unreachable,
      },
      update: {
        olds: {},
        news: { ...workload, targetCount: 0, timeoutSeconds: 2, pollSeconds: 1 },
        cause: unreachable,
      },
      delete: keeps,
    },
    [token(DYNAMIC_TYPES.kedaPause)]: {
      check: { news: { ...workload, paused: "yes" }, cause: /true or false/ },
      diff: { olds: workload, news: { ...workload, paused: true }, cause: "passes" },
      create: {
        news: { ...workload, paused: true, context: "elsewhere" },
        cause: /unknown context "elsewhere"/,
      },
      update: {
        olds: {},
        news: { ...workload, paused: false, context: "elsewhere" },
        cause: /unknown context "elsewhere"/,
      },
      delete: keeps,
    },
  };
  texts = await serializeAll();
  host = await startProviderHost({
    KUBECONFIG: kubeconfig,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
  });
  await host.configure({});
}, 180_000);

afterAll(async () => {
  await host?.stop();
});

/** Every line the operator would see of one call. */
function operatorLines(answer: HostAnswer): string[] {
  return [
    ...(answer.error === undefined ? [] : [answer.error]),
    ...answer.failures.map((f) => `${f.property}: ${f.reason}`),
    ...answer.stderr.split("\n").filter((line) => line.trim() !== ""),
  ];
}

describe("every provider's failure paths, serialized and run by the Pulumi CLI's provider host", () => {
  it("has cases for every provider the program defines", () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(texts).sort());
  });

  it.each(["check", "diff", "create", "update", "read", "delete"] as Method[])(
    "%s: the operator's line names the cause, with no JavaScript internals and no secret",
    async (method) => {
      for (const [type, providerCases] of Object.entries(cases)) {
        const one = providerCases[method];
        if (!one) continue;
        const request: CallRequest = { provider: texts[type], news: one.news, olds: one.olds };
        const answer = await host.call(method, request);
        // What the host prints arrives on its own pipe, a moment after the answer.
        await new Promise((r) => setTimeout(r, 50));
        const lines = operatorLines(answer);
        const context = `${type} ${method}: ${lines.join(" | ")}`;
        if (one.cause === "passes") {
          expect(answer.error, context).toBeUndefined();
          expect(answer.failures, context).toEqual([]);
        } else {
          expect(
            answer.error !== undefined || answer.failures.length > 0,
            `${context} (expected a failure)`,
          ).toBe(true);
          expect(lines.join("\n"), context).toMatch(one.cause);
        }
        for (const line of lines) {
          expect(line, context).not.toMatch(INTERNALS);
          expect(line, context).not.toContain(SECRET);
        }
      }
    },
    120_000,
  );
});
