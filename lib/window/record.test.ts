import { describe, expect, it } from "vitest";
import { isMaintenanceError } from "../errors";
import {
  assessWindow,
  redisAddress,
  staleSettings,
  versionChanges,
  type WindowInputs,
  type WindowRecord,
} from "./record";

const OLD_REDIS = "redis://tines:pw@old-redis.internal:6379/0";
const NEW_REDIS = "redis://tines:pw@new-redis.internal:6380/0";
const OLD_DB = "postgresql://tines:pw@old-db.internal:5432/tines";
const NEW_DB = "postgresql://tines:pw@new-db.internal:5433/tines";
const T0 = Date.parse("2026-11-01T02:00:00Z");
const HOUR = 3_600_000;

/** Window 1 settings: the gates read the old servers, the migration copies to the new one. */
const window1: WindowInputs["settings"] = {
  sidekiqRedisUrl: OLD_REDIS,
  databaseUrl: OLD_DB,
  migrationTargetUrl: NEW_DB,
  allowNonEmptyTarget: true,
};

function shutdown(previous: WindowRecord | undefined, settings = window1, now = T0) {
  return assessWindow(
    previous,
    { phase: "shutdown", allowVersionChange: false, settings },
    { "tines-app": "app:1" },
    now,
  );
}

function startup(
  previous: WindowRecord | undefined,
  options: Partial<WindowInputs> & { images?: Record<string, string> } = {},
  now = T0 + HOUR,
) {
  return assessWindow(
    previous,
    {
      phase: "running",
      allowVersionChange: options.allowVersionChange ?? false,
      settings: options.settings ?? {},
      switched: options.switched ?? {
        switchedAt: T0 + HOUR / 2,
        databaseHost: "new-db.internal",
        databasePort: 5433,
        redisUrl: NEW_REDIS,
      },
    },
    options.images ?? { "tines-app": "app:1" },
    now,
  );
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isMaintenanceError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

/** Window 1 as it happens: shutdown (switch at its end), then the startup that records the switch. */
function afterWindow1(settings = window1): WindowRecord {
  const down = shutdown(undefined, settings).record;
  return startup(down, { settings: { allowNonEmptyTarget: settings.allowNonEmptyTarget } }).record;
}

describe("the window record across two windows", () => {
  it("lets the first window through: its settings point where Tines is before the switch", () => {
    const down = shutdown(undefined);
    expect(down.record).toMatchObject({ phase: "shutdown", firstStopAt: new Date(T0).toISOString() });
    const up = startup(down.record);
    expect(up.record.lastSwitch).toEqual({
      switchedAt: T0 + HOUR / 2,
      databaseHost: "new-db.internal",
      databasePort: 5433,
      redisAddress: "new-redis.internal:6380/0",
    });
    expect(JSON.stringify(up.record)).not.toContain("pw");
  });

  it("refuses a second window whose sidekiq.redisUrl and database.url still point at the old servers", () => {
    const message = refusal(() =>
      shutdown(afterWindow1(), { ...window1, allowNonEmptyTarget: false }, T0 + 48 * HOUR),
    );
    expect(message).toContain(
      "tines-maintenance:sidekiq.redisUrl: points at Redis old-redis.internal:6379/0",
    );
    expect(message).toContain("moved Tines to new-redis.internal:6380/0");
    expect(message).toContain("tines-maintenance:database.url: points at old-db.internal:5432");
    expect(message).not.toContain("pw@");
  });

  it("refuses a migration onto the database Tines was switched to", () => {
    const settings = { sidekiqRedisUrl: NEW_REDIS, databaseUrl: NEW_DB, migrationTargetUrl: NEW_DB };
    const message = refusal(() => shutdown(afterWindow1(), settings, T0 + 48 * HOUR));
    expect(message).toContain(
      "tines-maintenance:database.migration.targetUrl: new-db.internal:5433 is the database",
    );
    expect(message).not.toContain("sidekiq.redisUrl");
  });

  it("never carries allowNonEmptyTarget into the next window", () => {
    const settings = {
      sidekiqRedisUrl: NEW_REDIS,
      databaseUrl: NEW_DB,
      migrationTargetUrl: "postgresql://tines:pw@newer-db.internal:5432/tines",
      allowNonEmptyTarget: true,
    };
    const message = refusal(() => shutdown(afterWindow1(), settings, T0 + 48 * HOUR));
    expect(message).toContain(
      "tines-maintenance:database.migration.allowNonEmptyTarget: was set for the window",
    );
    // Removed once, it may be set again for the window it is meant for (e.g. to retry a failed copy).
    const cleared = shutdown(
      afterWindow1(),
      { ...settings, allowNonEmptyTarget: false },
      T0 + 48 * HOUR,
    ).record;
    expect(cleared.allowNonEmptyTargetWindow).toBeUndefined();
    const retry = shutdown(cleared, settings, T0 + 49 * HOUR).record;
    expect(retry.allowNonEmptyTargetWindow).toBe(cleared.windowStartedAt);
  });

  it("keeps allowNonEmptyTarget within its window: a retried shutdown is the same window", () => {
    const first = shutdown(undefined).record;
    const retry = shutdown(first, window1, T0 + HOUR / 4).record;
    expect(retry.windowStartedAt).toBe(first.windowStartedAt);
    expect(retry.firstStopAt).toBe(first.firstStopAt);
  });

  it("warns at the startup while allowNonEmptyTarget is still set, and forgets it once removed", () => {
    const down = shutdown(undefined).record;
    const stillSet = startup(down, { settings: { allowNonEmptyTarget: true } });
    expect(stillSet.warnings.join(" ")).toContain("allowNonEmptyTarget is still set");
    expect(stillSet.record.allowNonEmptyTargetWindow).toBe(down.windowStartedAt);
    expect(startup(down, { settings: {} }).record.allowNonEmptyTargetWindow).toBeUndefined();
  });

  it("accepts a second window whose settings follow the switch", () => {
    const settings = { sidekiqRedisUrl: NEW_REDIS, databaseUrl: NEW_DB };
    const down = shutdown(afterWindow1(), settings, T0 + 48 * HOUR);
    expect(down.record.lastSwitch?.redisAddress).toBe("new-redis.internal:6380/0");
    expect(down.record.windowStartedAt).toBe(new Date(T0 + 48 * HOUR).toISOString());
  });

  it("does not check anything before a switch has happened", () => {
    expect(staleSettings(undefined, window1)).toEqual([]);
  });

  it("compares Redis by host, port and database number, database hosts without case", () => {
    expect(redisAddress("rediss://:x@Cache.Example:6390/3")).toBe("cache.example:6390/3");
    expect(redisAddress("redis://127.0.0.1")).toBe("127.0.0.1:6379/0");
    const lastSwitch = { switchedAt: T0, databaseHost: "DB.internal", databasePort: 5432 };
    expect(staleSettings(lastSwitch, { databaseUrl: "postgresql://u:p@db.internal/tines" })).toEqual([]);
    expect(
      staleSettings(lastSwitch, { databaseUrl: "postgresql://u:p@db.internal:5433/tines" }),
    ).toHaveLength(1);
  });
});

describe("the version guard", () => {
  it("records the images at the window's first shutdown and keeps them through retries", () => {
    const first = shutdown(undefined).record;
    const retry = assessWindow(
      first,
      { phase: "shutdown", allowVersionChange: false, settings: {} },
      { "tines-app": "app:2", "tines-sidekiq": "sidekiq:2" },
      T0 + 60_000,
    ).record;
    expect(retry.images).toEqual({ "tines-app": "app:1", "tines-sidekiq": "sidekiq:2" });
  });

  it("refuses a startup after an image changed, naming the service and both versions", () => {
    const down = shutdown(undefined).record;
    const message = refusal(() => startup(down, { images: { "tines-app": "app:2" } }));
    expect(message).toContain("tines-app: app:1 -> app:2");
    expect(message).toContain("versionGuard.allowChange");
  });

  it("starts with the override and records it", () => {
    const down = shutdown(undefined).record;
    const up = startup(down, { images: { "tines-app": "app:2" }, allowVersionChange: true });
    expect(up.record.versionOverride).toEqual({
      changes: ["tines-app: app:1 -> app:2"],
      at: new Date(T0 + HOUR).toISOString(),
    });
    expect(up.warnings.join(" ")).toContain("versionGuard.allowChange is true");
    // A startup retried after a later step failed still carries the override in its audit.
    const retried = startup(up.record, { images: { "tines-app": "app:2" } }).record;
    expect(retried.versionOverride).toEqual(up.record.versionOverride);
    expect(retried.images).toEqual({ "tines-app": "app:1" });
  });

  it("compares only at the first startup after a shutdown: upgrades between windows are normal", () => {
    const up = startup(shutdown(undefined).record).record;
    expect(() => startup(up, { images: { "tines-app": "app:3" } })).not.toThrow();
  });

  it("ignores services recorded on one side only", () => {
    expect(versionChanges({ a: "1", b: "1" }, { a: "1", c: "2" })).toEqual([]);
    expect(versionChanges({ a: "1" }, { a: "2" })).toEqual(["a: 1 -> 2"]);
  });
});
