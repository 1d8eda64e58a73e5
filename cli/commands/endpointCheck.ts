import { urlFlag } from "../urlFlag";
import {
  isHostname,
  parseDnsServer,
  redisHost,
  redisPort,
  redisUrlProblem,
} from "../../lib/endpoints/config";
import { waitForPropagation, type EndpointKind, type EndpointToCheck } from "../../lib/endpoints/propagation";
import { ConfigError } from "../../lib/errors";
import { stderrReporter } from "../../lib/progress";
import { numberFlag, flagCommand, switchFlags, valueFlags } from "../command";

const usage =
  "endpoint-check (--host H --port P [--kind redis|postgres] | --redis-url URL|env:VAR) [--dns-server IP[:PORT]]... " +
  "[--ttl S] [--switched-at ISO-TIME] [--timeout S] [--interval S] [--json]";

const KINDS: readonly EndpointKind[] = ["redis", "postgres"];

/**
 * The propagation gate on its own: resolves the name (system resolver and each DNS
 * server), waits out the TTL since --switched-at, connects and pings. Exit 0 when ready.
 */
export const endpointCheckCommand = flagCommand({
  name: "endpoint-check",
  usage,
  options: {
    ...valueFlags("host", "port", "kind", "redis-url", "ttl", "switched-at", "timeout", "interval"),
    "dns-server": { type: "string", multiple: true },
    ...switchFlags("json"),
  },
  async run(flags) {
    const endpoint = endpointFromFlags(flags);
    const dnsServers = flags["dns-server"] ?? [];
    for (const server of dnsServers) {
      if (!parseDnsServer(server))
        throw new ConfigError(`--dns-server must be IP or IP:PORT, got "${server}"`);
    }
    let switchedAt: number | undefined;
    if (flags["switched-at"] !== undefined) {
      switchedAt = Date.parse(flags["switched-at"]);
      if (Number.isNaN(switchedAt)) {
        throw new ConfigError(
          `--switched-at must be an ISO time such as 2026-01-31T12:00:00Z, got "${flags["switched-at"]}"`,
        );
      }
    }
    const reports = await waitForPropagation([endpoint], {
      dnsServers,
      ...(flags.ttl !== undefined
        ? { ttlSeconds: numberFlag(flags.ttl, "ttl", { min: 0, integer: true }) }
        : {}),
      ...(switchedAt !== undefined ? { switchedAt } : {}),
      timeoutSeconds: flags.timeout === undefined ? 60 : numberFlag(flags.timeout, "timeout", { min: 1 }),
      intervalSeconds:
        flags.interval === undefined ? 2 : numberFlag(flags.interval, "interval", { min: 0.1 }),
      reporter: stderrReporter,
    });
    const [report] = reports;
    process.stdout.write(
      flags.json
        ? `${JSON.stringify(report)}\n`
        : `${report.kind} ${report.host}:${report.port} ready (${report.addresses.join(", ")}; TTL ${report.ttlSeconds}s)\n` +
            report.results.map((r) => `  ${r.check}: ${r.detail}\n`).join(""),
    );
    return 0;
  },
});

function endpointFromFlags(flags: {
  host?: string;
  port?: string;
  kind?: string;
  "redis-url"?: string;
}): EndpointToCheck {
  if (flags["redis-url"] !== undefined) {
    if (
      flags.host !== undefined ||
      flags.port !== undefined ||
      (flags.kind !== undefined && flags.kind !== "redis")
    ) {
      throw new ConfigError(`--redis-url names the host, port and kind itself; usage: ${usage}`);
    }
    const url = urlFlag(flags["redis-url"], "--redis-url", { reporter: stderrReporter }).url;
    const problem = redisUrlProblem(url);
    if (problem) throw new ConfigError(`--redis-url ${problem}`);
    return { kind: "redis", host: redisHost(url), port: redisPort(url), url };
  }
  if (!flags.host) throw new ConfigError(`--host (or --redis-url) is required; usage: ${usage}`);
  if (!isHostname(flags.host))
    throw new ConfigError(`--host must be a host name or IP address, got "${flags.host}"`);
  const port = numberFlag(flags.port, "port", { min: 1, integer: true });
  if (port > 65535) throw new ConfigError(`--port must be an integer from 1 to 65535, got "${flags.port}"`);
  const kind = flags.kind ?? "postgres";
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError(`--kind must be one of: ${KINDS.join(", ")}, got "${kind}"`);
  }
  return { kind: kind as EndpointKind, host: flags.host, port };
}
