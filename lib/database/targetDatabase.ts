/**
 * Creating the target database, the first write of a migration, after every preflight
 * check passed; and dropping it again when the copy into it failed, so that a database this
 * run created never outlives the run half-filled.
 */
import { MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { withDatabase, type PgTarget } from "./connection";
import { connect } from "./session";

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function onServer(target: PgTarget, sql: string): Promise<void> {
  let admin;
  try {
    admin = await connect(withDatabase(target, "postgres"), "target server");
  } catch {
    admin = await connect(withDatabase(target, "template1"), "target server");
  }
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
