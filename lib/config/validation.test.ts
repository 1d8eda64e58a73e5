import { describe, expect, it } from "vitest";
import { checkDrainInputs, checkPreflightInputs } from "../sidekiq/gate";
import { checkComposeInputs } from "../compose/inputs";
import {
  dockerHostSchema,
  numberFailure,
  oneOf,
  parseSection,
  wholeFailure,
  wholeNumber,
} from "./validation";
import { z } from "zod";
import { quickDrainInputs } from "../../testkit/sidekiqJobs";

const drain = quickDrainInputs("redis://127.0.0.1:6379/1", 13);

describe("provider input checks", () => {
  it("a whole number is whole: counts refuse fractions, durations take them", () => {
    expect(wholeFailure({ n: 1.5 }, "n", 0)).toEqual([
      { property: "n", reason: "must be a whole number >= 0" },
    ]);
    expect(wholeFailure({ n: 2 }, "n", 0, { max: 1 })).toEqual([
      { property: "n", reason: "must be a whole number from 0 to 1" },
    ]);
    expect(wholeFailure({}, "n", 0, { optional: true })).toEqual([]);
    expect(numberFailure({ s: 0.1 }, "s", 0.1)).toEqual([]);
    expect(numberFailure({ s: 0 }, "s", 0, { exclusive: true })).toEqual([
      { property: "s", reason: "must be a number > 0" },
    ]);
    expect(checkDrainInputs({ ...drain, maxSize: 1.5, maxBusy: 0.5 })).toEqual([
      { property: "maxSize", reason: "must be a whole number >= 0" },
      { property: "maxBusy", reason: "must be a whole number >= 0" },
    ]);
    expect(checkDrainInputs({ ...drain, settleSeconds: 0.5, windowSeconds: 1.5 })).toEqual([]);
    expect(checkPreflightInputs({ ...drain, mode: "warn", preflightSeconds: 0.3, maxSize: 0.5 })).toEqual([
      { property: "maxSize", reason: "must be a whole number >= 0" },
    ]);
  });

  it("says a bad Redis URL once, without a doubled 'must be'", () => {
    expect(checkDrainInputs({ ...drain, redisUrl: "not a url" })).toEqual([
      { property: "redisUrl", reason: "must be a redis:// or rediss:// URL (e.g. redis://host:6379/1)" },
    ]);
  });

  it("one DOCKER_HOST rule for the config and the provider", () => {
    const compose = (dockerHost: string) =>
      checkComposeInputs({
        projectName: "p",
        service: "s",
        count: 0,
        timeoutSeconds: 1,
        pollSeconds: 1,
        dockerHost,
      });
    for (const host of ["unix:///run/docker.sock", "tcp://127.0.0.1:2375"]) {
      expect(compose(host)).toEqual([]);
      expect(dockerHostSchema.safeParse(host).success).toBe(true);
    }
    for (const host of ["ssh://h", "http://h:2375"]) {
      expect(compose(host)).toEqual([
        { property: "dockerHost", reason: "must be unix:///path/to/docker.sock or tcp://host:port" },
      ]);
      expect(dockerHostSchema.safeParse(host).success).toBe(false);
    }
  });
});

describe("parseSection", () => {
  const schema = z.strictObject({ mode: oneOf(["a", "b"]), count: wholeNumber(1, 3, "seconds").default(1) });

  it("is undefined for an absent section and names the key, the field and the allowed values", () => {
    expect(parseSection("demo", schema, undefined)).toBeUndefined();
    expect(parseSection("demo", schema, { mode: "a" })).toEqual({ mode: "a", count: 1 });
    expect(() => parseSection("demo", schema, { mode: "c", count: 1.5, extra: 1 })).toThrow(
      'tines-maintenance:demo.mode: must be one of: a, b (got "c"); tines-maintenance:demo.count: must be a whole number of seconds from 1 to 3; tines-maintenance:demo.extra: unknown key; allowed: mode, count',
    );
  });
});
