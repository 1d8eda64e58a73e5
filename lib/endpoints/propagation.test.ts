import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GateError } from "../errors";
import { freePort, TEST_PG_PASSWORD, TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";
import { startDnsmasq, type RunningDns } from "../../testkit/servers/dnsmasq";
import {
  checkEndpoint,
  passed,
  pingPostgres,
  pingRedis,
  probePostgres,
  resolveSystem,
  resolveVia,
  waitForPropagation,
  type EndpointToCheck,
} from "./propagation";
import { recordingReporter } from "../../testkit/recordingReporter";

function required(variable: string): URL {
  const value = process.env[variable];
  if (!value) throw new Error(`${variable} must be set by testkit/servers/globalSetup.ts`);
  return new URL(value);
}

const redis = required("TEST_REDIS_URL");
const pg = required("TEST_PG_SOURCE_URL");
const redisPort = Number(redis.port);
const pgPort = Number(pg.port);

let dns: RunningDns;
beforeAll(async () => {
  // `localhost` is the one name both the system resolver and dnsmasq can answer here.
  dns = await startDnsmasq(
    [
      { name: "localhost", addresses: ["127.0.0.1"] },
      { name: "db.new.test", addresses: ["127.0.0.1"] },
    ],
    30,
  );
});
afterAll(async () => dns?.stop());

const redisEndpoint = (
  url = `redis://tines:${TEST_REDIS_USER_PASSWORD}@localhost:${redisPort}/1`,
): EndpointToCheck => ({
  kind: "redis",
  host: "localhost",
  port: redisPort,
  url,
});
const pgEndpoint = (database?: EndpointToCheck["database"]): EndpointToCheck => ({
  kind: "postgres",
  host: "localhost",
  port: pgPort,
  ...(database ? { database } : {}),
});
const longAgo = Date.now() - 3600_000;

describe("DNS checks", () => {
  it("reads addresses and TTL from the configured DNS server, and the system resolver", async () => {
    expect(await resolveVia("db.new.test", dns.server)).toEqual({ addresses: ["127.0.0.1"], ttlSeconds: 30 });
    await expect(resolveVia("unknown.test", dns.server)).rejects.toThrow(/no A\/AAAA record \(EREFUSED\)/);
    expect(await resolveSystem("localhost")).toContain("127.0.0.1");
    expect(await resolveSystem("10.1.2.3")).toEqual(["10.1.2.3"]);
    await expect(resolveSystem("no-such-host.invalid")).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe("protocol pings (real Redis and PostgreSQL)", () => {
  it("Redis PING with AUTH; a wrong password is named, and not shown", async () => {
    expect(await pingRedis(`redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${redisPort}/1`)).toBe(
      "PING -> PONG",
    );
    const error = await pingRedis(`redis://tines:WrongPassw0rd@127.0.0.1:${redisPort}/1`).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Redis authentication failed: /);
    expect((error as Error).message).not.toContain("WrongPassw0rd");
  });

  it("Redis PING against a server that is not Redis fails", async () => {
    await expect(pingRedis(`redis://127.0.0.1:${pgPort}`, 2_000)).rejects.toThrow(/^Redis PING failed/);
  });

  it("Postgres SELECT 1 with credentials, SSLRequest probe without; bad password named and hidden", async () => {
    const creds = { user: "postgres", password: TEST_PG_PASSWORD, name: "postgres" };
    expect(await pingPostgres("127.0.0.1", pgPort, creds)).toBe("SELECT 1 -> 1");
    expect(await probePostgres("127.0.0.1", pgPort)).toMatch(/^SSLRequest -> [SN] \(PostgreSQL protocol\)$/);
    const error = await pingPostgres("127.0.0.1", pgPort, { ...creds, password: "NotThePassw0rd" }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toMatch(/^Postgres authentication failed: /);
    expect((error as Error).message).not.toContain("NotThePassw0rd");
    await expect(probePostgres("127.0.0.1", redisPort, 2_000)).rejects.toThrow(
      /not a PostgreSQL server|no PostgreSQL answer|without a PostgreSQL answer/,
    );
  });
});

describe("checkEndpoint", () => {
  it("passes every check for live endpoints reachable under their DNS names", async () => {
    const options = { dnsServers: [dns.server], switchedAt: longAgo };
    const [r, p] = await Promise.all([
      checkEndpoint(redisEndpoint(), options),
      checkEndpoint(pgEndpoint(), options),
    ]);
    for (const report of [r, p]) {
      expect(report.results.map((x) => [x.check, x.ok])).toEqual([
        ["dns-system", true],
        ["dns-server", true],
        ["ttl", true],
        ["tcp", true],
        ["ping", true],
      ]);
      expect(report.ttlSeconds).toBe(30);
      expect(passed(report)).toBe(true);
    }
  });

  it("names the failing check: system resolver, DNS server, TCP", async () => {
    const noName = await checkEndpoint({ ...pgEndpoint(), host: "no-such-host.invalid" }, { dnsServers: [] });
    expect(noName.results[0]).toMatchObject({ check: "dns-system", ok: false });
    expect(noName.results.map((r) => r.check)).not.toContain("tcp");

    const unknownToServer = await checkEndpoint(
      { ...pgEndpoint(), host: "db.new.test" },
      { dnsServers: [dns.server], switchedAt: longAgo },
    );
    // db.new.test exists only on dnsmasq: the system resolver does not see it yet.
    expect(unknownToServer.results[0]).toMatchObject({ check: "dns-system", ok: false });

    const closed = await freePort();
    const refused = await checkEndpoint(
      { ...pgEndpoint(), port: closed },
      { dnsServers: [dns.server], switchedAt: longAgo },
    );
    expect(refused.results.find((r) => !r.ok)).toMatchObject({
      check: "tcp",
      detail: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(passed(refused)).toBe(false);
  });
});

describe("waitForPropagation", () => {
  it("waits out the TTL since the switch, reporting the time left, then passes", async () => {
    await dns.restart([{ name: "localhost", addresses: ["127.0.0.1"] }], 2);
    const reporter = recordingReporter();
    const started = Date.now();
    const reports = await waitForPropagation([redisEndpoint(), pgEndpoint()], {
      dnsServers: [dns.server],
      switchedAt: started,
      timeoutSeconds: 20,
      intervalSeconds: 1,
      reporter,
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(2_000);
    expect(elapsed).toBeLessThan(10_000);
    expect(reports.every(passed)).toBe(true);
    expect(reporter.lines[0]).toMatch(
      /^endpoint-propagation: waiting: redis localhost:\d+ ttl failed: TTL 2s not yet passed since the switch \(\ds left\).* left before timeout$/,
    );
    expect(reporter.lines.at(-1)).toMatch(/^endpoint-propagation: postgres localhost:\d+ ready: /);
    expect(reporter.lines.join("\n")).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("fails at once when the TTL cannot pass before the timeout", async () => {
    await dns.restart([{ name: "localhost", addresses: ["127.0.0.1"] }], 3600);
    const started = Date.now();
    const error = await waitForPropagation([pgEndpoint()], {
      dnsServers: [dns.server],
      switchedAt: started,
      timeoutSeconds: 60,
      intervalSeconds: 1,
      reporter: recordingReporter(),
    }).catch((e: Error) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(GateError);
    expect((error as Error).message).toMatch(
      /^endpoint-propagation: the DNS TTL \(3600s\) of localhost does not pass within endpoints\.propagation\.timeoutSeconds \(60s\): postgres localhost:\d+ ttl failed: .*; no service was started$/,
    );
  });

  it("refuses when the DNS server and the system resolver disagree (not propagated), after the timeout", async () => {
    await dns.restart([{ name: "localhost", addresses: ["127.0.0.2"] }], 1);
    const reporter = recordingReporter();
    const error = await waitForPropagation([pgEndpoint()], {
      dnsServers: [dns.server],
      switchedAt: longAgo,
      timeoutSeconds: 2,
      intervalSeconds: 1,
      reporter,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(GateError);
    expect((error as Error).message).toMatch(
      /^endpoint-propagation: not ready after \ds: postgres localhost:\d+ dns-server failed: DNS server 127\.0\.0\.1:\d+ answers 127\.0\.0\.2 but the system resolver still returns 127\.0\.0\.1.*; no service was started$/,
    );
    expect(reporter.lines.length).toBeGreaterThanOrEqual(1);
  });

  it("names a Redis authentication failure without the password", async () => {
    await dns.restart([{ name: "localhost", addresses: ["127.0.0.1"] }], 1);
    const error = await waitForPropagation(
      [redisEndpoint(`redis://tines:Sup3rWrong@localhost:${redisPort}/1`)],
      {
        dnsServers: [dns.server],
        switchedAt: longAgo,
        timeoutSeconds: 1,
        intervalSeconds: 1,
        reporter: recordingReporter(),
      },
    ).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/redis localhost:\d+ ping failed: Redis authentication failed/);
    expect((error as Error).message).not.toContain("Sup3rWrong");
  });
});
