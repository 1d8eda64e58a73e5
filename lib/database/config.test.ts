import { describe, expect, it } from "vitest";
import type { CoreConfig } from "../config/core";
import { SECRET_PLACEHOLDER } from "../config/core";
import { ConfigError } from "../errors";
import { assertMigrationPreconditions, parseDatabaseConfig, validateDatabaseConfig } from "./config";

const URL_A = "postgresql://tines:s3cret@db-old:5432/tines";
const URL_B = "postgresql://tines:s3cret@db-new:5432/tines";

function core(
  phase: CoreConfig["phase"],
  keepRunning: CoreConfig["keepRunning"],
): Pick<CoreConfig, "phase" | "services" | "keepRunning"> {
  return {
    phase,
    services: [
      { key: "tines-app", count: 2 },
      { key: "redis", count: 1 },
      { key: "postgres", count: 1 },
    ],
    keepRunning,
  };
}

describe("databaseConfigSchema", () => {
  it("an unknown key lists the allowed keys, as every other section does", () => {
    expect(() =>
      parseDatabaseConfig({ url: URL_A, backup: { directory: "/backups", dirctory: "/x" } }),
    ).toThrow(
      "tines-maintenance:database.backup.dirctory: unknown key; allowed: enabled, directory, s3Bucket, s3Prefix, s3Region, s3Endpoint, compressLevel",
    );
  });

  it("applies the defaults: backup on, gzip level 1, migration keeps owners and refuses non-empty targets", () => {
    const config = parseDatabaseConfig({
      url: URL_A,
      backup: { directory: "/var/backups" },
      migration: { targetUrl: URL_B },
    });
    expect(config).toEqual({
      url: URL_A,
      backup: { enabled: true, directory: "/var/backups", s3Prefix: "", compressLevel: 1 },
      migration: {
        targetUrl: URL_B,
        allowNonEmptyTarget: false,
        noOwner: false,
        checksumMaxTableMiB: 10240,
        presync: false,
        catchUpTimeoutSeconds: 600,
      },
    });
  });

  it("accepts the secret placeholder the plan CLI passes", () => {
    expect(parseDatabaseConfig({ url: SECRET_PLACEHOLDER, backup: { enabled: false } })?.url).toBe(
      SECRET_PLACEHOLDER,
    );
  });

  it("is absent when the section is absent", () => {
    expect(parseDatabaseConfig(undefined)).toBeUndefined();
  });

  it.each([
    [
      { url: "mysql://x@h/db", backup: { enabled: false } },
      /database\.url: must be a postgresql:\/\/user:password@host:port\/database URL/,
    ],
    [
      { url: URL_A },
      /database\.backup: enabled \(the default\) but no location; set backup\.directory and\/or backup\.s3Bucket/,
    ],
    [
      { url: URL_A, backup: { directory: "/b", compressLevel: 12 } },
      /database\.backup\.compressLevel: must be a whole number from 0 to 9/,
    ],
    [
      { url: URL_A, backup: { s3Bucket: "Bad_Bucket" } },
      /database\.backup\.s3Bucket: must be an S3 bucket name/,
    ],
    [
      { url: URL_A, backup: { enabled: false }, migration: { targetUrl: URL_B, jobs: 0 } },
      /database\.migration\.jobs: must be a whole number from 1 to 64/,
    ],
    [
      { url: URL_A, backup: { enabled: false }, migration: {} },
      /database\.migration\.targetUrl: must be a postgresql:\/\/ URL/,
    ],
    [{ url: URL_A, backup: { enabled: false, dir: "/x" } }, /database\.backup\.dir: unknown key/],
    [
      { url: URL_A, backup: { enabled: false }, migration: { targetUrl: URL_B, presync: "yes" } },
      /database\.migration\.presync: must be true or false/,
    ],
    [
      {
        url: URL_A,
        backup: { enabled: false },
        migration: { targetUrl: URL_B, presync: true, allowNonEmptyTarget: true },
      },
      /database\.migration\.presync: true excludes allowNonEmptyTarget/,
    ],
    [
      { url: URL_A, backup: { enabled: false }, migration: { targetUrl: URL_B, catchUpTimeoutSeconds: 0 } },
      /database\.migration\.catchUpTimeoutSeconds: must be a whole number of seconds from 1 to 86400/,
    ],
  ])("rejects %j with one line naming the key", (raw, message) => {
    expect(() => parseDatabaseConfig(raw)).toThrow(ConfigError);
    expect(() => parseDatabaseConfig(raw)).toThrow(message);
  });

  it("never echoes the URL (with its password) in an error", () => {
    try {
      parseDatabaseConfig({ url: "postgresql://u:hunter22@", backup: { enabled: false } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter22");
    }
  });
});

describe("migration preconditions", () => {
  it("allow a shutdown with keepRunning exactly [postgres]", () => {
    expect(() => assertMigrationPreconditions(core("shutdown", ["postgres"]))).not.toThrow();
  });

  it("allow a managed database (postgres not in services) once everything listed goes to 0", () => {
    const managed = { ...core("shutdown", []), services: [{ key: "tines-app" as const, count: 1 }] };
    expect(() => assertMigrationPreconditions(managed)).not.toThrow();
  });

  it.each([
    [core("running", ["postgres"]), /runs only with phase shutdown \(phase is running\); allowed: shutdown/],
    [core("shutdown", []), /needs keepRunning: \[postgres\] when postgres is in services/],
    [
      core("shutdown", ["postgres", "redis"]),
      /every service but postgres must go to 0; keepRunning also lists redis; allowed: \[postgres\]/,
    ],
  ])("refuse %#", (config, message) => {
    expect(() => assertMigrationPreconditions(config)).toThrow(ConfigError);
    expect(() => assertMigrationPreconditions(config)).toThrow(message);
  });

  it("validateDatabaseConfig enforces them only for a shutdown with a migration", () => {
    const raw = { url: URL_A, backup: { enabled: false }, migration: { targetUrl: URL_B } };
    expect(() => validateDatabaseConfig(core("shutdown", []), raw)).toThrow(/keepRunning: \[postgres\]/);
    expect(validateDatabaseConfig(core("running", []), raw)?.migration?.targetUrl).toBe(URL_B);
    expect(
      validateDatabaseConfig(core("shutdown", []), { url: URL_A, backup: { directory: "/b" } })?.backup
        .enabled,
    ).toBe(true);
  });
});
