import { describe, expect, it } from "vitest";
import { GateError } from "../../lib/errors";
import { freePort, TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";
import { endpointPropagationProvider, type EndpointPropagationInputs } from "./endpointPropagation";

const provider = endpointPropagationProvider.provider;

const redisPort = Number(new URL(process.env.TEST_REDIS_URL ?? "redis://missing:0").port);
const pgPort = Number(new URL(process.env.TEST_PG_SOURCE_URL ?? "postgresql://missing:0").port);
if (!redisPort || !pgPort)
  throw new Error("TEST_REDIS_URL and TEST_PG_SOURCE_URL must be set by testkit/servers/globalSetup.ts");

function inputs(overrides: Partial<EndpointPropagationInputs> = {}): EndpointPropagationInputs {
  return {
    checks: [
      { kind: "postgres", host: "localhost", port: pgPort },
      {
        kind: "redis",
        host: "localhost",
        port: redisPort,
        url: `redis://tines:${TEST_REDIS_USER_PASSWORD}@localhost:${redisPort}/1`,
      },
    ],
    dnsServers: [],
    ttlSeconds: 1,
    switchedAt: Date.now() - 60_000,
    timeoutSeconds: 10,
    intervalSeconds: 1,
    ...overrides,
  };
}

describe("endpointPropagationProvider (real Redis and PostgreSQL)", () => {
  it("create passes and records hosts, addresses and TTL without credentials", async () => {
    const { outs } = await provider.create!(inputs());
    expect(outs.endpoints).toEqual([
      {
        kind: "postgres",
        host: "localhost",
        port: pgPort,
        addresses: expect.arrayContaining(["127.0.0.1"]),
        ttlSeconds: 1,
      },
      {
        kind: "redis",
        host: "localhost",
        port: redisPort,
        addresses: expect.arrayContaining(["127.0.0.1"]),
        ttlSeconds: 1,
      },
    ]);
    expect(JSON.stringify(outs)).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("create fails naming the endpoint and the check, so no service after it starts", async () => {
    const closed = await freePort();
    const error = await provider.create!(
      inputs({ checks: [{ kind: "postgres", host: "localhost", port: closed }], timeoutSeconds: 2 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GateError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^endpoint-propagation: not ready after \\ds: postgres localhost:${closed} tcp failed: .*ECONNREFUSED.*; no service was started$`,
      ),
    );
  });

  it("diff asks for a new check only when what is checked changes", async () => {
    const first = inputs();
    const { outs } = await provider.create!(first);
    expect(await provider.diff!("id", outs, first)).toEqual({ changes: false });
    expect(await provider.diff!("id", outs, { ...first, switchedAt: Date.now() })).toEqual({ changes: true });
  });
});
