/**
 * PostgreSQL connection details for pg_dump/pg_restore and node-postgres. Passwords go to
 * child processes only through their environment, never on a command line or to disk.
 */
import type { ClientConfig } from "pg";
import { ConfigError } from "../errors";
import { pgServerName } from "../serverNames";

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** libpq sslmode from `?sslmode=` (disable, prefer, require, verify-ca, verify-full). */
  sslmode?: string;
  /**
   * How messages name it, `PostgreSQL host:port database db`: never the URL, which the Pulumi
   * engine would print as `[secret]` (the URL is a secret config value).
   */
  display: string;
  /**
   * `application_name` of every session and child tool of one run, so that an abort can end
   * them all on the server (see abort.ts); "tines-maintenance" when absent.
   */
  applicationName?: string;
}

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/** Parse a postgresql:// URL; `flag` names the key or flag in the error. */
export function parsePgUrl(url: string, flag: string): PgTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${flag}: must be a postgresql://user:password@host:port/database URL`);
  }
  if (parsed.protocol !== "postgresql:" && parsed.protocol !== "postgres:") {
    throw new ConfigError(`${flag}: must be a postgresql:// URL, got scheme ${parsed.protocol}`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (!parsed.hostname || !database || !parsed.username) {
    throw new ConfigError(
      `${flag}: must name user, host and database: postgresql://user:password@host:port/database`,
    );
  }
  const sslmode = parsed.searchParams.get("sslmode") ?? undefined;
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode)) {
    throw new ConfigError(`${flag}: sslmode must be one of: ${SSL_MODES.join(", ")}`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const port = parsed.port ? Number(parsed.port) : 5432;
  return {
    host,
    port,
    user: decodeURIComponent(parsed.username),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
    sslmode,
    display: pgServerName({ host, port, database }),
  };
}

/** The same server, another database (e.g. `postgres` to create the target). */
export function withDatabase(target: PgTarget, database: string): PgTarget {
  return { ...target, database, display: pgServerName({ ...target, database }) };
}

export function pgClientConfig(target: PgTarget, applicationName = "tines-maintenance"): ClientConfig {
  const ssl =
    target.sslmode === undefined ||
    target.sslmode === "disable" ||
    target.sslmode === "prefer" ||
    target.sslmode === "allow"
      ? undefined
      : { rejectUnauthorized: target.sslmode === "verify-ca" || target.sslmode === "verify-full" };
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ssl,
    application_name: target.applicationName ?? applicationName,
    connectionTimeoutMillis: 10_000,
  };
}

/** libpq's flags for one connection; the password is not among them. */
export function connectionArgs(target: PgTarget): string[] {
  return ["-h", target.host, "-p", String(target.port), "-U", target.user, "-d", target.database];
}

/**
 * Environment for pg_dump/pg_restore talking to `target`: its password in PGPASSWORD, which
 * only the same user (or root) can read from /proc, and which never touches the disk, so no
 * signal, crash or SIGKILL can leave it behind. Inherited libpq settings are dropped.
 */
export function childEnv(target: PgTarget): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: "10" };
  for (const name of ["PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSSLMODE", "PGOPTIONS"]) delete env[name];
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  else env.PGPASSFILE = "/dev/null";
  if (target.sslmode) env.PGSSLMODE = target.sslmode;
  if (target.applicationName) env.PGAPPNAME = target.applicationName;
  else delete env.PGAPPNAME;
  return env;
}

/** Every password among the targets, for redacting child-process output. */
export function secretsOf(targets: PgTarget[]): string[] {
  return targets.map((t) => t.password).filter((p): p is string => !!p);
}
