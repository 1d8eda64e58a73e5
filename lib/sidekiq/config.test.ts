import { describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDER } from "../config/core";
import { formatIssues } from "../config/validation";
import { parseRedisUrl, sidekiqConfigSchema, SIDEKIQ_DEFAULTS } from "./config";

function problems(value: unknown): string {
  const parsed = sidekiqConfigSchema.safeParse(value);
  if (parsed.success) return "";
  return formatIssues(parsed.error.issues.map((i) => ({ ...i, path: ["sidekiq", ...i.path] })));
}

describe("sidekiqConfigSchema", () => {
  it("fills production defaults", () => {
    const parsed = sidekiqConfigSchema.parse({ redisUrl: "redis://:pw@redis.internal:6379/1" });
    expect(parsed).toEqual({ redisUrl: "redis://:pw@redis.internal:6379/1", ...SIDEKIQ_DEFAULTS });
    expect(parsed).toMatchObject({
      intervalSeconds: 5,
      windowSeconds: 120,
      settleSeconds: 15,
      timeoutSeconds: 900,
      onRedisSwitch: "carry",
    });
    expect(sidekiqConfigSchema.parse({ redisUrl: "redis://h", onRedisSwitch: "discard" }).onRedisSwitch).toBe(
      "discard",
    );
  });

  it("accepts the placeholder of an undecryptable secret and a namespace", () => {
    expect(problems({ redisUrl: SECRET_PLACEHOLDER, namespace: "tines" })).toBe("");
    expect(problems({ redisUrl: "rediss://u:p@h:6380/0", preflight: "refuse" })).toBe("");
  });

  it("names the key and the allowed values, without echoing the URL", () => {
    expect(problems({ redisUrl: "http://user:hunter22@h" })).toBe(
      'tines-maintenance:sidekiq.redisUrl: must be a redis:// or rediss:// URL, got scheme "http"',
    );
    expect(problems({ redisUrl: "redis://h/x" })).toMatch(/sidekiq.redisUrl: path must be a database number/);
    expect(problems({})).toMatch(/sidekiq.redisUrl: required/);
    expect(problems({ redisUrl: "redis://h", preflight: "maybe" })).toBe(
      'tines-maintenance:sidekiq.preflight: must be one of: warn, refuse, off (got "maybe")',
    );
    expect(problems({ redisUrl: "redis://h", onRedisSwitch: "drop" })).toBe(
      'tines-maintenance:sidekiq.onRedisSwitch: must be one of: carry, discard (got "drop")',
    );
    expect(problems({ redisUrl: "redis://h", maxSize: -1 })).toBe(
      "tines-maintenance:sidekiq.maxSize: must be a whole number >= 0",
    );
    expect(problems({ redisUrl: "redis://h", intervalSeconds: 0.5 })).toMatch(
      /intervalSeconds: must be a whole number >= 1/,
    );
    expect(problems({ redisUrl: "redis://h", windowSeconds: 10, settleSeconds: 20 })).toMatch(
      /sidekiq.settleSeconds: must be <= windowSeconds \(10\)/,
    );
    expect(problems({ redisUrl: "redis://h", namespace: "a b" })).toMatch(/sidekiq.namespace/);
    expect(problems({ redisUrl: "redis://h", maxsize: 3 })).toMatch(
      /sidekiq\.maxsize: unknown key|sidekiq: unknown key maxsize/,
    );
    expect(problems({ redisUrl: "http://user:hunter22@h" })).not.toContain("hunter22");
  });

  it("parses the URL forms Tines' REDIS_URL uses", () => {
    expect(parseRedisUrl("redis://redis:6379/1", "x").hostname).toBe("redis");
    expect(() => parseRedisUrl("not a url", "--redis-url")).toThrow(
      /^--redis-url must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});
