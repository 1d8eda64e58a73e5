import { describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "../config/core";
import { envFilePath, parseDnsServer, parseEndpointsConfig, redisHost, redisPort } from "./config";
import { configErrorOf } from "../../testkit/configErrors";

const compose = { platform: "compose" as const, compose: { projectDirectory: "/srv/tines" } };

const refusal = (raw: unknown, context: Parameters<typeof parseEndpointsConfig>[1] = compose) =>
  configErrorOf(() => parseEndpointsConfig(raw, context));

describe("endpoints config", () => {
  it("fills safe defaults and the Compose .env target", () => {
    const config = parseEndpointsConfig({ databaseHost: "db.new.internal" }, compose);
    expect(config).toMatchObject({
      databaseHost: "db.new.internal",
      databasePort: 5432,
      target: { kind: "env-file" },
      keys: { databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" },
      propagation: { dnsServers: [], timeoutSeconds: 900, intervalSeconds: 5 },
    });
    expect(envFilePath(config.target as { path?: string }, "/srv/tines/")).toBe("/srv/tines/.env");
  });

  it("accepts the secret placeholder for redisUrl (the plan CLI cannot decrypt)", () => {
    expect(parseEndpointsConfig({ redisUrl: SECRET_PLACEHOLDER }, compose).redisUrl).toBe(SECRET_PLACEHOLDER);
  });

  it("names the key and the allowed values", () => {
    expect(refusal({})).toBe(
      "tines-maintenance:endpoints: set databaseHost and/or redisUrl (or remove the key)",
    );
    expect(refusal({ databaseHost: "postgres://db:5432" })).toMatch(
      /^tines-maintenance:endpoints\.databaseHost: must be a host name or IP address, without scheme or port$/,
    );
    expect(refusal({ redisUrl: "http://cache:6379" })).toMatch(
      /endpoints\.redisUrl: must start with redis:\/\/ or rediss:\/\//,
    );
    expect(refusal({ databaseHost: "db", bogus: 1 })).toMatch(
      /endpoints\.bogus: unknown key; allowed: databaseHost, databasePort/,
    );
    expect(refusal({ databaseHost: "db", propagation: { dnsServers: ["dns.example:53"] } })).toMatch(
      /endpoints\.propagation\.dnsServers\.0: must be IP or IP:PORT/,
    );
    expect(refusal({ databaseHost: "db" }, { platform: "ecs", compose: {} })).toBe(
      "tines-maintenance:endpoints.target: required on platform ecs; kind one of: s3-env-file, secrets-manager",
    );
    expect(
      refusal({ databaseHost: "db", target: { kind: "env-file" } }, { platform: "kubernetes", compose: {} }),
    ).toMatch(
      /endpoints\.target\.kind: "env-file" does not apply to platform kubernetes; allowed: kubernetes-secret, kubernetes-configmap/,
    );
    expect(refusal({ databaseHost: "db", target: { kind: "ftp" } })).toMatch(/endpoints\.target/);
    expect(refusal({ databaseHost: "db", keys: { databaseHost: "X", redisUrl: "X" } })).toMatch(
      /endpoints\.keys: .*different/,
    );
  });

  it("parses DNS servers and Redis URLs", () => {
    expect(parseDnsServer("127.0.0.1:5353")).toEqual({ address: "127.0.0.1", port: 5353 });
    expect(parseDnsServer("10.0.0.2")).toEqual({ address: "10.0.0.2", port: 53 });
    expect(parseDnsServer("::1")).toEqual({ address: "::1", port: 53 });
    expect(parseDnsServer("[::1]:5353")).toEqual({ address: "::1", port: 5353 });
    expect(parseDnsServer("127.0.0.1:0")).toBeUndefined();
    expect(parseDnsServer("ns1.example:53")).toBeUndefined();
    expect(redisHost("redis://user:pw@cache.new.internal:6380/1")).toBe("cache.new.internal");
    expect(redisPort("redis://cache/1")).toBe(6379);
    expect(redisPort("rediss://cache:6380")).toBe(6380);
  });
});
