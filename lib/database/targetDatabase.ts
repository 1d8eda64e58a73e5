/**
 * Creating the target database, the first write of a migration, after every preflight
 * check passed; and dropping it again when the copy into it failed, so that a database this
 * run created never outlives the run half-filled.
 */
import type { Client } from "pg";
import { MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { withDatabase, type PgTarget } from "./connection";
import { connect } from "./session";

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A session on the target server outside the target database (which CREATE/DROP need). */
async function adminSession(target: PgTarget): Promise<Client> {
  try {
    return await connect(withDatabase(target, "postgres"), "target server");
  } catch (error) {
    if ((error as { code?: string }).code !== "3D000") throw error;
    return connect(withDatabase(target, "template1"), "target server");
  }
}

async function onServer(target: PgTarget, sql: string): Promise<void> {
  const admin = await adminSession(target);
  try {
    await admin.query(sql);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export async function createTargetDatabase(target: PgTarget, reporter: ProgressReporter): Promise<void> {
  reporter.info(`db-migrate: creating database ${target.database} on the target (it did not exist)`);
  try {
    await onServer(target, `CREATE DATABASE ${quoted(target.database)}`);
  } catch (error) {
    throw new MaintenanceError(
      `target database ${target.database} does not exist and could not be created: ${(error as Error).message}; create it first`,
    );
  }
}

/** What CREATE DATABASE must repeat for a database to come back as it was, as SQL clauses. */
interface DatabaseShape {
  owner: string;
  clauses: string[];
  grants: string[];
  settings: string[];
}

async function databaseShape(admin: Client, database: string): Promise<DatabaseShape> {
  const { rows } = await admin.query<{ owner: string; d: Record<string, unknown> }>(
    `SELECT pg_get_userbyid(d.datdba) AS owner, to_jsonb(d) - 'datacl' AS d FROM pg_database d WHERE d.datname = $1`,
    [database],
  );
  if (rows.length === 0) throw new MaintenanceError(`database ${database} is gone`);
  const d = rows[0].d;
  const literal = (v: unknown) => admin.escapeLiteral(String(v));
  const clauses = [
    "TEMPLATE template0",
    `ENCODING ${literal(await encodingName(admin, Number(d.encoding)))}`,
  ];
  // The locale columns differ between versions (daticulocale in 15-16, datlocale from 17).
  if (d.datlocprovider === "i") {
    clauses.push("LOCALE_PROVIDER icu", `ICU_LOCALE ${literal(d.datlocale ?? d.daticulocale)}`);
  } else if (d.datlocprovider === "b") {
    clauses.push("LOCALE_PROVIDER builtin", `BUILTIN_LOCALE ${literal(d.datlocale)}`);
  }
  clauses.push(`LC_COLLATE ${literal(d.datcollate)}`, `LC_CTYPE ${literal(d.datctype)}`);
  const name = admin.escapeIdentifier(database);
  const grants = (
    await admin.query<{ privilege: string; grantee: string | null; grantable: boolean }>(
      `SELECT a.privilege_type AS privilege, r.rolname AS grantee, a.is_grantable AS grantable
         FROM pg_database d, aclexplode(d.datacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE d.datname = $1 AND a.grantee <> d.datdba`,
      [database],
    )
  ).rows.map(
    (g) =>
      `GRANT ${g.privilege} ON DATABASE ${name} TO ${g.grantee ? admin.escapeIdentifier(g.grantee) : "PUBLIC"}${g.grantable ? " WITH GRANT OPTION" : ""}`,
  );
  const { rows: acl } = await admin.query<{ custom: boolean }>(
    "SELECT datacl IS NOT NULL AS custom FROM pg_database WHERE datname = $1",
    [database],
  );
  // A database with its own ACL starts from nothing for PUBLIC, as it had.
  if (acl[0]?.custom) grants.unshift(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
  const settings = (
    await admin.query<{ setting: string }>(
      `SELECT unnest(s.setconfig) AS setting FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = $1 AND s.setrole = 0`,
      [database],
    )
  ).rows.map(({ setting }) => {
    const at = setting.indexOf("=");
    return `ALTER DATABASE ${name} SET ${admin.escapeIdentifier(setting.slice(0, at))} = ${admin.escapeLiteral(setting.slice(at + 1))}`;
  });
  return { owner: rows[0].owner, clauses, grants, settings };
}

async function encodingName(admin: Client, encoding: number): Promise<string> {
  const { rows } = await admin.query<{ name: string }>("SELECT pg_encoding_to_char($1) AS name", [encoding]);
  return rows[0].name;
}

/**
 * This stack's interrupted copy (its mark says so) starts again from nothing: the target
 * database is dropped and created again with its owner, encoding, locale, grants and settings,
 * so that the streamed copy finds it empty. Needs what DROP and CREATE DATABASE need (the
 * database's owner, CREATEDB); without it, one line says what to do by hand.
 */
export async function recreateTargetDatabase(target: PgTarget, reporter: ProgressReporter): Promise<void> {
  const admin = await adminSession(target);
  try {
    const shape = await databaseShape(admin, target.database);
    const name = admin.escapeIdentifier(target.database);
    const { rows } = await admin.query<{ me: string }>("SELECT current_user AS me");
    const owner = shape.owner === rows[0].me ? [] : [`OWNER ${admin.escapeIdentifier(shape.owner)}`];
    try {
      await dropDatabase(admin, target.database);
      await admin.query(`CREATE DATABASE ${name} ${[...owner, ...shape.clauses].join(" ")}`);
      for (const statement of [...shape.grants, ...shape.settings]) await admin.query(statement);
    } catch (error) {
      throw new MaintenanceError(
        `target database ${target.database} holds this stack's interrupted copy, but it could not be dropped and re-created ` +
          `(${(error as Error).message}); drop it by hand (or empty it) and run again`,
      );
    }
    reporter.info(
      `db-migrate: re-created ${target.database} on the target, empty, with its owner and settings`,
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function dropDatabase(admin: Client, database: string): Promise<void> {
  const name = admin.escapeIdentifier(database);
  // FORCE (PostgreSQL 13+) ends sessions of ours that a failure left behind.
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error: { code?: string }) => {
    if (error.code !== "42601") throw error;
    return admin.query(`DROP DATABASE IF EXISTS ${name}`);
  });
}

/** Best effort: the failure that got us here is what the operator needs to read. */
export async function dropCreatedDatabase(target: PgTarget, reporter: ProgressReporter): Promise<void> {
  try {
    // FORCE (PostgreSQL 13+) ends sessions of ours that a failure left behind.
    await onServer(target, `DROP DATABASE IF EXISTS ${quoted(target.database)} WITH (FORCE)`).catch(
      (error: { code?: string }) => {
        if (error.code !== "42601") throw error;
        return onServer(target, `DROP DATABASE IF EXISTS ${quoted(target.database)}`);
      },
    );
    reporter.info(`db-migrate: dropped ${target.database} on the target again (this run created it)`);
  } catch (error) {
    reporter.warn(
      `db-migrate: could not drop ${target.database}, which this run created, on the target: ${(error as Error).message}`,
    );
  }
}
