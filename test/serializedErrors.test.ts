/**
 * Failure paths of the Sidekiq gates as the Pulumi CLI runs them: the provider serialized,
 * loaded from text in another process (ts-node, as `pulumi up` loads the program), and its
 * `create` run against a Redis that is down. The operator must read what went wrong, not
 * JavaScript internals (issue 20, item 5: a module-level Set in lib/errors.ts arrived in the
 * provider as a plain object, and every error became "Method Set.prototype.has called on
 * incompatible receiver").
 */
import { describe, expect, it } from "vitest";
import { createSerialized } from "../testkit/runSerialized";
import { GATE_TYPES } from "../lib/plan/names";
import { freePort } from "../testkit/servers/localServers";

async function downRedisUrl(): Promise<{ url: string; port: number }> {
  // Nothing listens there: connections are refused at once.
  const port = await freePort();
  return { url: `redis://127.0.0.1:${port}/0`, port };
}

describe("Sidekiq gates against a Redis that is down, serialized as the CLI runs them", () => {
  it.each([
    {
      gate: "the pre-flight",
      type: GATE_TYPES["sidekiq-preflight"].resources.check,
      settings: { mode: "warn", preflightSeconds: 1, intervalSeconds: 0.5, windowSeconds: 30, maxSize: 0 },
    },
    {
      gate: "the drain gate (pre-flight off)",
      type: GATE_TYPES["sidekiq-drain"].resources.drain,
      settings: {
        intervalSeconds: 0.5,
        windowSeconds: 3,
        settleSeconds: 1,
        maxSize: 0,
        maxBusy: 0,
        timeoutSeconds: 5,
      },
    },
  ])("$gate fails naming Redis and its address", async ({ type, settings }) => {
    const { url, port } = await downRedisUrl();
    const run = await createSerialized(type, { redisUrl: url, namespace: "", trigger: "t", ...settings });
    expect(run.ok).toBe(false);
    const message = run.ok ? "" : run.stderr.trim();
    expect(message).not.toMatch(/prototype|incompatible receiver/);
    expect(message).toBe(`Redis 127.0.0.1:${port} db 0: connection refused`);
  });
});
