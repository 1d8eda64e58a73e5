import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort, TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";
import { startDnsmasq, type RunningDns } from "../../testkit/servers/dnsmasq";
import { endpointCheckCommand } from "./endpointCheck";

const pgPort = new URL(process.env.TEST_PG_SOURCE_URL ?? "postgresql://missing:1").port;
const redisPort = new URL(process.env.TEST_REDIS_URL ?? "redis://missing:1").port;

/** Run the command as `maint` does (exit code, one-line stderr), capturing output. */
async function maint(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi
    .spyOn(process.stdout, "write")
    .mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, "write")
    .mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    let code: number;
    try {
      code = await endpointCheckCommand.run(args);
    } catch (error) {
      // What cli/maint.ts does with a refusal.
      const { oneLine } = await import("../../lib/errors");
      stderr += `maint endpoint-check: ${oneLine(error)}\n`;
      code = 1;
    }
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let dns: RunningDns;
beforeAll(async () => {
  dns = await startDnsmasq([{ name: "localhost", addresses: ["127.0.0.1"] }], 1);
});
afterAll(async () => dns?.stop());

describe("maint endpoint-check", () => {
  it("exit 0 and a report when Postgres is reachable by name through the DNS server", async () => {
    const result = await maint([
      "--host",
      "localhost",
      "--port",
      pgPort,
      "--dns-server",
      dns.server,
      "--timeout",
      "10",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^postgres localhost:${pgPort} ready \\(.*127\\.0\\.0\\.1.*; TTL 1s\\)\\n`),
    );
    expect(result.stdout).toMatch(/ {2}ping: SSLRequest -> [SN]/);
  });

  it("takes the Redis URL from the environment (no password in the process list) and pings with AUTH", async () => {
    process.env.ENDPOINT_CHECK_REDIS_URL = `redis://tines:${TEST_REDIS_USER_PASSWORD}@localhost:${redisPort}/1`;
    const result = await maint(["--redis-url", "env:ENDPOINT_CHECK_REDIS_URL", "--json"]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      kind: string;
      results: Array<{ check: string; ok: boolean; detail: string }>;
    };
    expect(report.kind).toBe("redis");
    expect(report.results.find((r) => r.check === "ping")).toEqual({
      check: "ping",
      ok: true,
      detail: "PING -> PONG",
    });
    expect(result.stdout + result.stderr).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("exit 1 with one line naming the failing check", async () => {
    const closed = String(await freePort());
    const result = await maint([
      "--host",
      "localhost",
      "--port",
      closed,
      "--timeout",
      "1",
      "--interval",
      "0.5",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        `^maint endpoint-check: endpoint-propagation: not ready after \\ds: postgres localhost:${closed} tcp failed: .*ECONNREFUSED`,
      ),
    );
  });

  it("refuses bad flags naming the flag and the allowed values", async () => {
    expect((await maint(["--host", "db", "--port", "5432", "--kind", "mysql"])).stderr).toContain(
      '--kind must be one of: redis, postgres, got "mysql"',
    );
    expect((await maint(["--host", "db", "--port", "70000"])).stderr).toContain(
      "--port must be an integer from 1 to 65535",
    );
    expect((await maint(["--host", "db", "--port", "5432", "--dns-server", "ns1:53"])).stderr).toContain(
      '--dns-server must be IP or IP:PORT, got "ns1:53"',
    );
    expect((await maint(["--port", "5432"])).stderr).toContain("--host (or --redis-url) is required");
    expect((await maint(["--redis-url", "http://x"])).stderr).toContain(
      "--redis-url must start with redis:// or rediss://",
    );
    expect((await maint(["--host", "db", "--port", "1", "--switched-at", "yesterday"])).stderr).toContain(
      "--switched-at must be an ISO time",
    );
  });
});
