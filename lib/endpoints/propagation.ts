/**
 * The propagation gate: before anything starts, each new endpoint must resolve (system
 * resolver, and every configured DNS server), the DNS TTL must have passed since the
 * switch, and a TCP connection plus a protocol ping (Redis PING, Postgres SELECT 1 or
 * SSLRequest) must succeed. Checks repeat until all pass or the timeout; the failure
 * names the endpoint and the check.
 */
import type { Resolver } from "node:dns/promises";
import type { default as RedisClient } from "ioredis";
import type { Client as PgClient } from "pg";
import { boundedRedisOptions } from "../boundedRedis";
import { withDeadline } from "../deadline";
import { GateError, oneLine } from "../errors";
import { formatSeconds, realClock, type ProgressReporter } from "../progress";
import { redactSecrets } from "../redact";
import { dnsServerAddress, isIP, parseDnsServer } from "./config";

// Node built-ins are required where used: dynamic providers serialize this module by value.
const dnsPromises = () => require("node:dns/promises") as typeof import("node:dns/promises");
const netModule = () => require("node:net") as typeof import("node:net");

export type EndpointKind = "redis" | "postgres";

export interface EndpointToCheck {
  kind: EndpointKind;
  host: string;
  port: number;
  /** Redis: the full REDIS_URL (credentials for AUTH). */
  url?: string;
  /** Postgres: credentials for `SELECT 1`; without them an SSLRequest probe. */
  database?: { user: string; password: string; name: string };
}

export const CHECKS = ["dns-system", "dns-server", "ttl", "tcp", "ping"] as const;
export type CheckName = (typeof CHECKS)[number];

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  detail: string;
}

export interface EndpointReport {
  kind: EndpointKind;
  host: string;
  port: number;
  /** Addresses from the system resolver. */
  addresses: string[];
  /** The longest TTL any source reported, seconds (0 for an IP address). */
  ttlSeconds: number;
  results: CheckResult[];
}

const IO_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(promise, ms, { onTimeout: () => new Error(`${what} timed out after ${ms} ms`) });
}

/** Addresses the system resolver (getaddrinfo: /etc/hosts, nsswitch, its DNS servers) returns. */
export async function resolveSystem(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const answers = await withTimeout(
    dnsPromises().lookup(host, { all: true }),
    IO_TIMEOUT_MS,
    `system resolver lookup of ${host}`,
  );
  return [...new Set(answers.map((a) => a.address))].sort();
}

export interface DnsAnswer {
  addresses: string[];
  ttlSeconds: number;
}

/** A and AAAA records of `host` from one DNS server (`IP[:PORT]`), with their TTL. */
export async function resolveVia(host: string, server: string): Promise<DnsAnswer> {
  const parsed = parseDnsServer(server);
  if (!parsed) throw new Error(`DNS server "${server}" is not IP[:PORT]`);
  const resolver = new (dnsPromises().Resolver)({ timeout: 2_000, tries: 2 });
  resolver.setServers([dnsServerAddress(parsed)]);
  return resolveWith(resolver, host);
}

async function resolveWith(resolver: Resolver, host: string): Promise<DnsAnswer> {
  const [v4, v6] = await Promise.allSettled([
    resolver.resolve4(host, { ttl: true }),
    resolver.resolve6(host, { ttl: true }),
  ]);
  const records = [
    ...(v4.status === "fulfilled" ? v4.value : []),
    ...(v6.status === "fulfilled" ? v6.value : []),
  ];
  if (records.length === 0) {
    const reason =
      v4.status === "rejected"
        ? ((v4.reason as NodeJS.ErrnoException).code ?? oneLine(v4.reason))
        : "no records";
    throw new Error(`no A/AAAA record (${reason})`);
  }
  return {
    addresses: [...new Set(records.map((r) => r.address))].sort(),
    ttlSeconds: Math.max(...records.map((r) => r.ttl)),
  };
}

/** TTL as the system's own DNS servers report it; undefined when they do not answer (e.g. a hosts-file name). */
async function systemDnsTtl(host: string): Promise<number | undefined> {
  try {
    return (await resolveWith(new (dnsPromises().Resolver)({ timeout: 2_000, tries: 1 }), host)).ttlSeconds;
  } catch {
    return undefined;
  }
}

export async function tcpConnect(host: string, port: number, timeoutMs = IO_TIMEOUT_MS): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = netModule().connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    });
    socket.once("error", (error: NodeJS.ErrnoException) =>
      reject(new Error(`connect to ${host}:${port}: ${error.code ?? error.message}`)),
    );
  });
}

/** Redis PING through ioredis with the URL's credentials; AUTH problems are named as such. */
export async function pingRedis(url: string, timeoutMs = IO_TIMEOUT_MS): Promise<string> {
  const Redis = require("ioredis") as typeof RedisClient;
  const client = new Redis(url, boundedRedisOptions(timeoutMs));
  // ioredis reports an AUTH refusal on its "error" event and rejects with "Connection is closed".
  let reported: unknown;
  client.on("error", (error) => (reported ??= error));
  try {
    await client.connect();
    const reply = await client.ping();
    if (reply !== "PONG") throw new Error(`PING answered ${reply}`);
    return "PING -> PONG";
  } catch (error) {
    const text = redactSecrets(oneLine(reported ?? error), [safePassword(url)]);
    if (/WRONGPASS|NOAUTH|invalid username-password|AUTH/i.test(text))
      throw new Error(`Redis authentication failed: ${text}`);
    throw new Error(`Redis PING failed: ${text}`);
  } finally {
    client.disconnect();
  }
}

function safePassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** Postgres `SELECT 1` with credentials. */
export async function pingPostgres(
  host: string,
  port: number,
  database: { user: string; password: string; name: string },
  timeoutMs = IO_TIMEOUT_MS,
): Promise<string> {
  const { Client } = require("pg") as { Client: typeof PgClient };
  const client = new Client({
    host,
    port,
    user: database.user,
    password: database.password,
    database: database.name,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ one: number }>("SELECT 1 AS one");
    if (result.rows[0]?.one !== 1) throw new Error("SELECT 1 returned no row");
    return "SELECT 1 -> 1";
  } catch (error) {
    const text = redactSecrets(oneLine(error), [database.password]);
    if (/password authentication|authentication failed|no pg_hba/i.test(text)) {
      throw new Error(`Postgres authentication failed: ${text}`);
    }
    throw new Error(`Postgres SELECT 1 failed: ${text}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Postgres protocol probe without credentials: an SSLRequest, which every PostgreSQL
 * server answers with a single `S` or `N` before any authentication.
 */
export async function probePostgres(host: string, port: number, timeoutMs = IO_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netModule().connect({ host, port, timeout: timeoutMs });
    const fail = (message: string) => {
      socket.destroy();
      reject(new Error(message));
    };
    socket.once("connect", () => socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
    socket.once("data", (data) => {
      socket.destroy();
      const answer = String.fromCharCode(data[0]);
      if (answer === "S" || answer === "N") resolve(`SSLRequest -> ${answer} (PostgreSQL protocol)`);
      else reject(new Error(`not a PostgreSQL server: SSLRequest answered 0x${data[0].toString(16)}`));
    });
    socket.once("timeout", () => fail(`no PostgreSQL answer from ${host}:${port} within ${timeoutMs} ms`));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      fail(`connect to ${host}:${port}: ${error.code ?? error.message}`),
    );
    socket.once("end", () => fail(`${host}:${port} closed the connection without a PostgreSQL answer`));
  });
}

export interface CheckOptions {
  /** `IP[:PORT]` servers asked directly; every one must know the name. */
  dnsServers: string[];
  /** Overrides the TTL the DNS reports. */
  ttlSeconds?: number;
  /** When the switch wrote the new values (ms since epoch); the TTL counts from here. */
  switchedAt?: number;
  now?: () => number;
}

async function attempt(check: CheckName, run: () => Promise<string>): Promise<CheckResult> {
  try {
    return { check, ok: true, detail: await run() };
  } catch (error) {
    return { check, ok: false, detail: oneLine(error) };
  }
}

/** One round of every check on one endpoint. DNS failures skip the network checks (they would only repeat them). */
export async function checkEndpoint(
  endpoint: EndpointToCheck,
  options: CheckOptions,
): Promise<EndpointReport> {
  const now = options.now ?? Date.now;
  const results: CheckResult[] = [];
  let addresses: string[] = [];
  const isAddress = isIP(endpoint.host) !== 0;

  results.push(
    await attempt("dns-system", async () => {
      addresses = await resolveSystem(endpoint.host);
      return isAddress ? "an IP address" : `system resolver: ${addresses.join(", ")}`;
    }),
  );

  const ttls: number[] = [];
  if (!isAddress) {
    for (const server of options.dnsServers) {
      results.push(
        await attempt("dns-server", async () => {
          let answer: DnsAnswer;
          try {
            answer = await resolveVia(endpoint.host, server);
          } catch (error) {
            throw new Error(`DNS server ${server}: ${oneLine(error)}`);
          }
          ttls.push(answer.ttlSeconds);
          // The system resolver must already see what the DNS server says, or a cache still holds the old name.
          const stale = answer.addresses.filter((a) => addresses.length > 0 && !addresses.includes(a));
          if (addresses.length > 0 && stale.length === answer.addresses.length) {
            throw new Error(
              `DNS server ${server} answers ${answer.addresses.join(", ")} but the system resolver still returns ` +
                `${addresses.join(", ")} (not propagated, or a local cache to flush)`,
            );
          }
          return `DNS server ${server}: ${answer.addresses.join(", ")} (TTL ${answer.ttlSeconds}s)`;
        }),
      );
    }
  }

  const ttlSeconds = isAddress
    ? 0
    : (options.ttlSeconds ?? (ttls.length > 0 ? Math.max(...ttls) : await systemDnsTtl(endpoint.host)) ?? 0);
  results.push(
    await attempt("ttl", async () => {
      if (options.switchedAt === undefined) return `no switch recorded; TTL ${ttlSeconds}s not waited`;
      const waited = (now() - options.switchedAt) / 1000;
      if (waited < ttlSeconds) {
        throw new Error(
          `TTL ${ttlSeconds}s not yet passed since the switch (${formatSeconds(ttlSeconds - waited)} left)`,
        );
      }
      return `TTL ${ttlSeconds}s passed (${formatSeconds(waited)} since the switch)`;
    }),
  );

  const resolved = results
    .filter((r) => r.check === "dns-system" || r.check === "dns-server")
    .every((r) => r.ok);
  if (resolved) {
    const tcp = await attempt("tcp", async () => {
      await tcpConnect(endpoint.host, endpoint.port);
      return `TCP ${endpoint.host}:${endpoint.port} accepts connections`;
    });
    results.push(tcp);
    if (tcp.ok) {
      results.push(
        await attempt("ping", async () => {
          if (endpoint.kind === "redis") {
            return pingRedis(endpoint.url ?? `redis://${endpoint.host}:${endpoint.port}`);
          }
          return endpoint.database
            ? pingPostgres(endpoint.host, endpoint.port, endpoint.database)
            : probePostgres(endpoint.host, endpoint.port);
        }),
      );
    }
  }
  return { kind: endpoint.kind, host: endpoint.host, port: endpoint.port, addresses, ttlSeconds, results };
}

export function firstFailure(report: EndpointReport): CheckResult | undefined {
  return report.results.find((r) => !r.ok);
}

/** Every check passed, and the last one (ping) was reached: a DNS or TCP failure skips those after it. */
export function passed(report: EndpointReport): boolean {
  return report.results.every((r) => r.ok) && report.results.some((r) => r.check === "ping");
}

export interface WaitOptions extends CheckOptions {
  timeoutSeconds: number;
  intervalSeconds: number;
  reporter: ProgressReporter;
  sleep?: (ms: number) => Promise<void>;
}

function describe(endpoint: Pick<EndpointToCheck, "kind" | "host" | "port">): string {
  return `${endpoint.kind} ${endpoint.host}:${endpoint.port}`;
}

/**
 * Repeat the checks until every endpoint passes them all, reporting what is waited on and
 * the time left. Throws a GateError naming the endpoint and the failing check when the
 * timeout passes, or at once when the TTL alone could not pass before it.
 */
export async function waitForPropagation(
  endpoints: EndpointToCheck[],
  options: WaitOptions,
): Promise<EndpointReport[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realClock.sleep;
  const started = now();
  const deadline = started + options.timeoutSeconds * 1000;
  const secrets = endpoints.flatMap((e) => [e.url ? safePassword(e.url) : undefined, e.database?.password]);
  for (;;) {
    const reports = await Promise.all(endpoints.map((e) => checkEndpoint(e, options)));
    const failing = reports.filter((r) => !passed(r));
    const left = (deadline - now()) / 1000;
    if (failing.length === 0) {
      for (const report of reports) {
        options.reporter.info(
          `endpoint-propagation: ${describe(report)} ready: ${report.results.map((r) => r.detail).join("; ")}`,
        );
      }
      return reports;
    }
    const summary = failing
      .map((r) => {
        const failed = firstFailure(r);
        return failed
          ? `${describe(r)} ${failed.check} failed: ${failed.detail}`
          : `${describe(r)} ping not reached`;
      })
      .join("; ");
    // A TTL longer than the time left cannot pass: say so now instead of after the timeout.
    const ttlBlocked = failing.find((r) => {
      const failed = firstFailure(r);
      return (
        failed?.check === "ttl" &&
        options.switchedAt !== undefined &&
        options.switchedAt + r.ttlSeconds * 1000 > deadline
      );
    });
    if (left <= 0 || ttlBlocked) {
      const reason = ttlBlocked
        ? `the DNS TTL (${ttlBlocked.ttlSeconds}s) of ${ttlBlocked.host} does not pass within endpoints.propagation.timeoutSeconds (${options.timeoutSeconds}s)`
        : `not ready after ${formatSeconds((now() - started) / 1000)}`;
      throw new GateError(
        redactSecrets(`endpoint-propagation: ${reason}: ${summary}; no service was started`, secrets),
      );
    }
    options.reporter.info(
      redactSecrets(
        `endpoint-propagation: waiting: ${summary}; ${formatSeconds(left)} left before timeout`,
        secrets,
      ),
    );
    await sleep(Math.min(options.intervalSeconds * 1000, Math.max(0, deadline - now())));
  }
}
