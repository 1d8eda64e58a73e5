import { describe, expect, it } from "vitest";
import { redisUrlFlag, urlFlag } from "./urlFlag";

function recorder() {
  const warnings: string[] = [];
  return { warnings, reporter: { info: () => undefined, warn: (m: string) => warnings.push(m) } };
}

describe("one rule for every URL flag", () => {
  it("reads env:VAR and warns about passwords on the command line", () => {
    const { warnings, reporter } = recorder();
    expect(urlFlag("env:SRC", "--from", { reporter, env: { SRC: "postgresql://u:p@h/d" } }).url).toBe(
      "postgresql://u:p@h/d",
    );
    expect(warnings).toEqual([]);
    expect(() => urlFlag("env:NOPE", "--from", { reporter, env: {} })).toThrow(
      /--from: environment variable NOPE is not set/,
    );
    urlFlag("postgresql://u:p@h/d", "--to", { reporter, env: {} });
    expect(warnings).toEqual([
      "--to: a password on the command line is visible in the process list; prefer --to env:VARIABLE",
    ]);
    expect(() => urlFlag(undefined, "--url", { reporter, env: {} })).toThrow(
      "--url is required, as --url env:VARIABLE",
    );
  });

  it("--redis-url follows the same rule and may be left out for $REDIS_URL", () => {
    const { warnings, reporter } = recorder();
    const url = "redis://tines:pw@127.0.0.1:6379/1";
    expect(redisUrlFlag("env:OTHER", reporter, { OTHER: url })).toBe(url);
    expect(redisUrlFlag(undefined, reporter, { REDIS_URL: url })).toBe(url);
    expect(warnings).toEqual([]);
    expect(redisUrlFlag(url, reporter, {})).toBe(url);
    expect(warnings).toEqual([
      "--redis-url: a password on the command line is visible in the process list; prefer --redis-url env:VARIABLE",
    ]);
    expect(() => redisUrlFlag(undefined, reporter, {})).toThrow(
      "--redis-url is required (redis://[user:password@]host:6379/1), as --redis-url env:VARIABLE, or set REDIS_URL",
    );
    expect(() => redisUrlFlag(undefined, reporter, { REDIS_URL: "http://h" })).toThrow(
      'REDIS_URL must be a redis:// or rediss:// URL, got scheme "http"',
    );
    expect(() => redisUrlFlag("env:BAD", reporter, { BAD: "http://h" })).toThrow(
      '--redis-url must be a redis:// or rediss:// URL, got scheme "http"',
    );
  });
});
