import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GATE_TYPES, type DynamicType } from "../../lib/plan/names";
import { createSerialized } from "../../testkit/runSerialized";
import { TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";

const dir = mkdtempSync(path.join(os.tmpdir(), "endpoint-serialized-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runSerialized(type: DynamicType, inputs: unknown) {
  const run = await createSerialized(type, inputs);
  if (!run.ok) throw new Error(`${type.type}: ${run.stderr}`);
  return run;
}

describe("endpoint providers as the Pulumi CLI loads them (serialized, then run)", () => {
  it("the switch rewrites a real .env file from its serialized copy", async () => {
    const file = path.join(dir, ".env");
    writeFileSync(file, "# keep\nDATABASE_HOST=old-db\n");
    const report = await runSerialized(GATE_TYPES["endpoint-switch"].resources.switch, {
      phase: "shutdown",
      target: { kind: "env-file", path: file },
      keys: { databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" },
      databaseHost: "new-db.internal",
      redisUrl: "redis://:pw@new-redis:6379/1",
      reached: { "tines-app": 0 },
    });
    expect(report.bytes).toBeGreaterThan(1000);
    expect(report.result).toMatchObject({
      outs: { databaseHost: "new-db.internal", redisHost: "new-redis", previousDatabaseHost: "old-db" },
    });
    expect(readFileSync(file, "utf8")).toBe(
      "# keep\nDATABASE_HOST=new-db.internal\nREDIS_URL=redis://:pw@new-redis:6379/1\n",
    );
  });

  it("the propagation gate resolves, connects and pings from its serialized copy", async () => {
    const redisPort = Number(new URL(process.env.TEST_REDIS_URL!).port);
    const pgPort = Number(new URL(process.env.TEST_PG_SOURCE_URL!).port);
    const report = await runSerialized(GATE_TYPES["endpoint-propagation"].resources.check, {
      checks: [
        { kind: "postgres", host: "localhost", port: pgPort },
        {
          kind: "redis",
          host: "localhost",
          port: redisPort,
          url: `redis://tines:${TEST_REDIS_USER_PASSWORD}@localhost:${redisPort}`,
        },
      ],
      dnsServers: [],
      ttlSeconds: 0,
      timeoutSeconds: 10,
      intervalSeconds: 1,
    });
    expect(report.result).toMatchObject({
      outs: {
        endpoints: [
          expect.objectContaining({ kind: "postgres", port: pgPort }),
          expect.objectContaining({ kind: "redis", port: redisPort }),
        ],
      },
    });
  });
});
