/**
 * The `database` section of the stack config: backup before maintenance and migration to
 * a new PostgreSQL instance. Pure (no Pulumi), so the program and the `plan` CLI share it.
 */
import { z } from "zod";
import { SECRET_PLACEHOLDER, type CoreConfig } from "../config/core";
import { ConfigError } from "../errors";
import { booleanSchema, isUrlWith, parseSection, wholeNumber } from "../config/validation";

const postgresUrlSchema = z
  .string({ error: "must be a postgresql:// URL (a secret)" })
  .refine((value) => value === SECRET_PLACEHOLDER || isUrlWith(value, ["postgresql:", "postgres:"]), {
    error: "must be a postgresql://user:password@host:port/database URL (a secret)",
  });

const jobsSchema = wholeNumber(1, 64);

export const backupConfigSchema = z
  .strictObject({
    /** Taken during shutdown once the application tier is down. */
    enabled: booleanSchema.default(true),
    /** Local directory for the dump (created if missing). */
    directory: z.string().min(1, { error: "must be a directory path" }).optional(),
    s3Bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
        error: "must be an S3 bucket name (3-63 of a-z 0-9 . -)",
      })
      .optional(),
    s3Prefix: z.string({ error: "must be a string" }).default(""),
    s3Region: z.string().min(1, { error: "must be an AWS region, e.g. us-east-1" }).optional(),
    /** For tests and private endpoints (VPC endpoint, emulator); path-style addressing. */
    s3Endpoint: z.url({ error: "must be a URL" }).optional(),
    /** gzip level of the custom-format archive: 0 (none) to 9 (smallest). */
    compressLevel: wholeNumber(0, 9).default(1),
  })
  .default({ enabled: true, s3Prefix: "", compressLevel: 1 });

export const migrationConfigSchema = z.strictObject({
  /** The new instance, database included; must be empty (see allowNonEmptyTarget). */
  targetUrl: postgresUrlSchema,
  /** Parallel dump/restore workers; gains flatten past the core count. */
  jobs: jobsSchema.optional(),
  /** Restore over an existing copy (`pg_restore --clean --if-exists`), e.g. to retry a failed run. */
  allowNonEmptyTarget: booleanSchema.default(false),
  /** Keep owners (default; the roles must exist on the target) or let the target user own everything. */
  noOwner: booleanSchema.default(false),
  /** Content checksums for tables up to this size (MiB); larger ones get row counts only. 0 = none. */
  checksumMaxTableMiB: wholeNumber(0, undefined, "MiB").default(10240),
  /**
   * Copy ahead while Tines runs: in phase running the target is filled and kept current by
   * logical replication; the shutdown's migration then only catches up, verifies and switches.
   */
  presync: booleanSchema.default(false),
  /** The longest the shutdown's cut-over waits for a presynced copy to catch up. */
  catchUpTimeoutSeconds: wholeNumber(1, 86400, "seconds").default(600),
});

export const databaseConfigSchema = z
  .strictObject({
    /** The database Tines uses now (a secret). */
    url: postgresUrlSchema,
    backup: backupConfigSchema,
    migration: migrationConfigSchema.optional(),
  })
  .superRefine((raw, ctx) => {
    if (raw.migration?.presync && raw.migration.allowNonEmptyTarget) {
      ctx.addIssue({
        code: "custom",
        path: ["migration", "presync"],
        message:
          "true excludes allowNonEmptyTarget: a presync copies into a new database of its own and replaces only its own copy; set one of them false",
      });
    }
    if (raw.backup.enabled && !raw.backup.directory && !raw.backup.s3Bucket) {
      ctx.addIssue({
        code: "custom",
        path: ["backup"],
        message:
          "enabled (the default) but no location; set backup.directory and/or backup.s3Bucket, or backup.enabled false",
      });
    }
  });

export type DatabaseConfig = z.infer<typeof databaseConfigSchema>;
export type BackupConfig = DatabaseConfig["backup"];
export type MigrationConfig = NonNullable<DatabaseConfig["migration"]>;

/** Parse `database` (undefined when the section is absent), one ConfigError naming the key. */
export function parseDatabaseConfig(raw: unknown): DatabaseConfig | undefined {
  return parseSection("database", databaseConfigSchema, raw);
}

/**
 * The seed's prerequisite for a migration: every Tines service shut down except Postgres.
 * Called during config validation so that nothing is registered when it does not hold.
 */
export function assertMigrationPreconditions(
  core: Pick<CoreConfig, "phase" | "services" | "keepRunning">,
): void {
  const prefix = "tines-maintenance:database.migration";
  if (core.phase !== "shutdown") {
    throw new ConfigError(
      `${prefix}: runs only with phase shutdown (phase is ${core.phase}); allowed: shutdown`,
    );
  }
  // A managed database (RDS, Cloud SQL) is not in services and stays up on its own.
  if (core.services.some((s) => s.key === "postgres") && !core.keepRunning.includes("postgres")) {
    throw new ConfigError(
      `${prefix}: needs keepRunning: [postgres] when postgres is in services, so that the source stays up while everything else is down`,
    );
  }
  const others = core.keepRunning.filter((key) => key !== "postgres");
  if (others.length > 0) {
    throw new ConfigError(
      `${prefix}: every service but postgres must go to 0; keepRunning also lists ${others.join(", ")}; allowed: [postgres]`,
    );
  }
}

/**
 * The whole check the lead runs during config validation: parse the section and, when a
 * migration is configured for a shutdown, enforce its preconditions.
 */
export function validateDatabaseConfig(
  core: Pick<CoreConfig, "phase" | "services" | "keepRunning">,
  raw: unknown,
): DatabaseConfig | undefined {
  const database = parseDatabaseConfig(raw);
  if (database?.migration && core.phase === "shutdown") assertMigrationPreconditions(core);
  return database;
}
