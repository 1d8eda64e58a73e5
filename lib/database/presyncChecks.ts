/**
 * Every refusal of a presync and of its cut-over, with both servers only read: what logical
 * replication needs of the source (wal_level, a role that may replicate and publish, a key or
 * replica identity on every table, a free slot and WAL sender) and of the target (a role that
 * may subscribe, a free apply worker and replication origin), the versions, whether the target
 * is ours, and whether the source's schema moved away from the copy (logical replication
 * carries no DDL). One line per problem; runs at preview and again before anything changes.
 */
import type { Client } from "pg";
import { compareDescriptions, describeSchema, type DatabaseDescription } from "./inspect";
import { withDatabase, type PgTarget } from "./connection";
import { serverMajor } from "./pgTools";
import { sourceObjects, targetSubscriptions } from "./presyncObjects";
import { targetContents } from "./preflight";
import { connect } from "./session";
import { tablesToCopy } from "./streamCopy";
import { readTargetMarker, type TargetMarker } from "./targetMarker";

/** How messages name the two URLs: config keys under Pulumi, flags in the CLI. */
export interface PresyncNames {
  source: string;
  target: string;
  presync: string;
}

export const CLI_PRESYNC_NAMES: PresyncNames = {
  source: "--from",
  target: "--to",
  presync: "maint db-presync",
};

export const CONFIG_PRESYNC_NAMES: PresyncNames = {
  source: "database.url",
  target: "database.migration.targetUrl",
  presync: "database.migration.presync",
};

/** First major version with logical replication (publications and subscriptions). */
export const LOGICAL_REPLICATION_MIN_MAJOR = 10;

/**
 * The version rule of a presync, pure so it can be tested for versions this machine does not
 * have: both servers must have logical replication, and the target may not be older than the
 * source (the schema comes over by pg_dump, which cannot go to an older major version).
 */
export function presyncVersionProblem(sourceMajor: number, targetMajor: number): string | undefined {
  const old = [
    sourceMajor < LOGICAL_REPLICATION_MIN_MAJOR ? `the source is PostgreSQL ${sourceMajor}` : "",
    targetMajor < LOGICAL_REPLICATION_MIN_MAJOR ? `the target is PostgreSQL ${targetMajor}` : "",
  ].filter(Boolean);
  if (old.length > 0) {
    return `${old.join(" and ")}: logical replication needs PostgreSQL ${LOGICAL_REPLICATION_MIN_MAJOR} or newer on both sides; migrate without presync`;
  }
  if (targetMajor < sourceMajor) {
    return `the target is PostgreSQL ${targetMajor}, older than the source's ${sourceMajor}: the schema cannot be restored into an older major version`;
  }
  return undefined;
}

export type TargetState =
  | { kind: "missing" }
  | { kind: "empty"; marker?: TargetMarker }
  /** Marked as a presync copy; `subscription` when ours is still there. */
  | { kind: "presync"; marker: TargetMarker; subscription?: string }
  | { kind: "other"; contents: string[]; marker?: TargetMarker };

async function setting(client: Client, name: string): Promise<string | undefined> {
  const { rows } = await client.query<{ v: string | null }>("SELECT current_setting($1, true) AS v", [name]);
  return rows[0]?.v ?? undefined;
}

async function roleHas(client: Client, role: string): Promise<boolean> {
  const { rows } = await client.query<{ has: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AND pg_has_role(current_user, $1, 'MEMBER') AS has`,
    [role],
  );
  return rows[0].has;
}

async function isRds(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ rds: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AS rds",
  );
  return rows[0].rds;
}

export interface TableWithoutIdentity {
  table: string;
  /** What to run on the source. */
  fix: string;
}

/**
 * Published tables whose updates and deletes the subscriber could not find by a key: no
 * primary key under the default replica identity, `REPLICA IDENTITY NOTHING`, or an identity
 * index that is gone. Publishing such a table would also make every UPDATE and DELETE on it
 * fail on the source.
 */
export async function tablesWithoutIdentity(client: Client): Promise<TableWithoutIdentity[]> {
  const { rows } = await client.query<{ table: string; ident: string; candidate: string | null }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS table, c.relreplident::text AS ident,
            (SELECT quote_ident(ic.relname) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL
                AND i.indexprs IS NULL
                AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k
                                 WHERE NOT a.attnotnull)
              ORDER BY ic.relname LIMIT 1) AS candidate
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        AND CASE c.relreplident
              WHEN 'd' THEN NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
              WHEN 'i' THEN NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)
              WHEN 'n' THEN true
              ELSE false END
      ORDER BY 1`,
  );
  return rows.map((r) => ({
    table: r.table,
    fix: r.candidate
      ? `ALTER TABLE ${r.table} REPLICA IDENTITY USING INDEX ${r.candidate}`
      : `ALTER TABLE ${r.table} ADD PRIMARY KEY (...)`,
  }));
}

/** What the source needs for a presync to start; one line each. */
export async function sourceProblems(client: Client, name: string, names: PresyncNames): Promise<string[]> {
  const problems: string[] = [];
  const where = `source ${names.source}`;
  const rds = await isRds(client);
  const walLevel = await setting(client, "wal_level");
  if (walLevel !== "logical") {
    problems.push(
      rds
        ? `${where}: wal_level is ${walLevel}, logical replication needs logical: set rds.logical_replication = 1 in the instance's DB parameter group; it takes effect after a reboot, so do it ahead of the window`
        : `${where}: wal_level is ${walLevel}, logical replication needs logical: set wal_level = logical (ALTER SYSTEM SET wal_level = logical); it takes effect after a restart, so do it ahead of the window`,
    );
  }
  const { rows: roleRows } = await client.query<{ user: string; superuser: boolean; replication: boolean }>(
    `SELECT current_user AS user, rolsuper AS superuser, rolreplication AS replication FROM pg_roles WHERE rolname = current_user`,
  );
  const role = roleRows[0];
  const mayReplicate =
    role.superuser || role.replication || (rds && (await roleHas(client, "rds_replication")));
  if (!mayReplicate) {
    problems.push(
      rds
        ? `${where}: role ${role.user} may not replicate: GRANT rds_replication TO ${role.user}`
        : `${where}: role ${role.user} may not replicate: ALTER ROLE ${role.user} REPLICATION`,
    );
  }
  const { rows: createRows } = await client.query<{ may: boolean }>(
    "SELECT has_database_privilege(current_database(), 'CREATE') AS may",
  );
  if (!createRows[0].may) {
    problems.push(
      `${where}: role ${role.user} may not create a publication in database ${client.database}: GRANT CREATE ON DATABASE ${client.database} TO ${role.user}`,
    );
  }
  if (!role.superuser) {
    const { rows } = await client.query<{ table: string; owner: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS table, pg_get_userbyid(c.relowner) AS owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
          AND n.nspname NOT LIKE 'pg_temp_%' AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1`,
    );
    if (rows.length > 0) {
      problems.push(
        `${where}: role ${role.user} may not publish tables it does not own: ${summarize(rows.map((r) => `${r.table} (owner ${r.owner})`))}; connect as the owner of Tines' tables`,
      );
    }
  }
  const unidentified = await tablesWithoutIdentity(client);
  if (unidentified.length > 0) {
    problems.push(
      `${where}: ${unidentified.length === 1 ? "table" : "tables"} without a primary key or usable REPLICA IDENTITY (the target could not apply their updates and deletes, and publishing them would make those fail on the source): ` +
        `${summarize(unidentified.map((t) => t.table))}; fix: ${summarize(
          unidentified.map((t) => t.fix),
          3,
          "; ",
        )}`,
    );
  }
  const { rows: capacity } = await client.query<{
    slots: number;
    used_slots: string;
    senders: number;
    used_senders: string;
  }>(
    `SELECT current_setting('max_replication_slots')::int AS slots,
            (SELECT count(*) FROM pg_replication_slots WHERE slot_name <> $1)::text AS used_slots,
            current_setting('max_wal_senders')::int AS senders,
            (SELECT count(*) FROM pg_stat_replication)::text AS used_senders`,
    [name],
  );
  const c = capacity[0];
  if (c.slots - Number(c.used_slots) < 1) {
    problems.push(
      `${where}: no free replication slot (max_replication_slots ${c.slots}, ${c.used_slots} in use); a presync needs 1: raise max_replication_slots (a restart) or drop an unused slot`,
    );
  }
  if (c.senders - Number(c.used_senders) < 1) {
    problems.push(
      `${where}: no free WAL sender (max_wal_senders ${c.senders}, ${c.used_senders} in use); a presync needs 1: raise max_wal_senders (a restart)`,
    );
  }
  return problems;
}

/** What the target needs to subscribe; one line each. */
export async function targetSubscriberProblems(
  client: Client,
  major: number,
  names: PresyncNames,
): Promise<string[]> {
  const problems: string[] = [];
  const where = `target ${names.target}`;
  const { rows } = await client.query<{ user: string; superuser: boolean }>(
    "SELECT current_user AS user, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user",
  );
  const { user, superuser } = rows[0];
  const may =
    superuser ||
    (await roleHas(client, "rds_superuser")) ||
    (major >= 16 && (await roleHas(client, "pg_create_subscription")));
  if (!may) {
    problems.push(
      `${where}: role ${user} may not create a subscription: it needs to be a superuser (on RDS: rds_superuser${major >= 16 ? "; PostgreSQL 16+: pg_create_subscription" : ""})`,
    );
  }
  const { rows: workers } = await client.query<{ max: number; used: string }>(
    `SELECT current_setting('max_logical_replication_workers')::int AS max,
            (SELECT count(*) FROM pg_stat_subscription WHERE pid IS NOT NULL)::text AS used`,
  );
  if (workers[0].max - Number(workers[0].used) < 1) {
    problems.push(
      `${where}: no free logical replication worker (max_logical_replication_workers ${workers[0].max}, ${workers[0].used} running): raise it (a restart)`,
    );
  }
  const originSetting = major >= 18 ? "max_active_replication_origins" : "max_replication_slots";
  try {
    const { rows: origins } = await client.query<{ max: number; used: string }>(
      `SELECT current_setting('${originSetting}')::int AS max, (SELECT count(*) FROM pg_replication_origin)::text AS used`,
    );
    if (origins[0].max - Number(origins[0].used) < 1) {
      problems.push(
        `${where}: no free replication origin (${originSetting} ${origins[0].max}, ${origins[0].used} in use), which a subscription needs: raise ${originSetting} (a restart)`,
      );
    }
  } catch (error) {
    // pg_replication_origin is for superusers; one who may subscribe sees it.
    if ((error as { code?: string }).code !== "42501") throw error;
  }
  return problems;
}

/** The target database's state, read through `client` (undefined: it does not exist). */
export async function targetState(client: Client | undefined, name: string): Promise<TargetState> {
  if (!client) return { kind: "missing" };
  const marker = await readTargetMarker(client);
  if (marker?.purpose === "presync") {
    const [subscription] = await targetSubscriptions(client, name);
    return { kind: "presync", marker, subscription };
  }
  const contents = targetContents(await describeSchema(client));
  return contents.length === 0 ? { kind: "empty", marker } : { kind: "other", contents, marker };
}

/** The target's server, through its `postgres` (or `template1`) database. */
function openTargetServer(target: PgTarget): Promise<Client> {
  return connect(withDatabase(target, "postgres"), "target server").catch(() =>
    connect(withDatabase(target, "template1"), "target server"),
  );
}

/** The target database, or undefined when it does not exist. */
export async function openTargetIfExists(target: PgTarget): Promise<Client | undefined> {
  try {
    return await connect(target, "target");
  } catch (error) {
    if ((error as { code?: string }).code === "3D000") return undefined;
    throw error;
  }
}

/**
 * Where the source's schema differs from the copy's (not sequences, which replication does
 * not carry and the cut-over sets, and not rows): what DDL on the source during presync did.
 */
export function schemaDrift(
  source: DatabaseDescription,
  target: DatabaseDescription,
  compareOwners: boolean,
): string[] {
  const strip = (d: DatabaseDescription) => ({
    ...d,
    sequences: {},
    tables: d.tables.map((t) => ({ name: t.name, bytes: 0 })),
  });
  return compareDescriptions(strip(source), strip(target), { compareOwners }).mismatches;
}

/** The source's schema against the copy's, on two open sessions. */
export async function readSchemaDrift(
  sourceClient: Client,
  targetClient: Client,
  compareOwners: boolean,
): Promise<string[]> {
  const [source, target] = await Promise.all([describeSchema(sourceClient), describeSchema(targetClient)]);
  return schemaDrift(source, target, compareOwners);
}

export function driftProblem(drift: string[], names: PresyncNames): string {
  return (
    `the source's schema changed since the presync started (a Tines upgrade's migrations?), and logical replication carries no DDL: ` +
    `${summarize(drift, 5, "; ")}; set ${names.presync} false and back to true in phase running to copy the new schema, or migrate without presync`
  );
}

/** `a, b, c and 4 more`. */
export function summarize(items: string[], shown = 5, separator = ", "): string {
  const head = items.slice(0, shown).join(separator);
  return items.length > shown ? `${head} and ${items.length - shown} more` : head;
}

export interface PresyncCheck {
  problems: string[];
  warnings: string[];
  state: TargetState;
  sourceMajor: number;
  targetMajor?: number;
}

/**
 * The whole read-only check for `mode`: `start` (set up a presync) or `cutover` (finish
 * one). Both servers are read, never written; the target database may not exist yet.
 */
export async function checkPresync(
  source: PgTarget,
  target: PgTarget,
  options: { mode: "start" | "cutover"; stack: string; name: string; names: PresyncNames; noOwner: boolean },
): Promise<PresyncCheck> {
  const { names, name } = options;
  const sourceClient = await connect(source, "source");
  let targetClient: Client | undefined;
  try {
    targetClient = await openTargetIfExists(target);
    const problems: string[] = [];
    const warnings: string[] = [];
    const sourceMajor = serverMajor(Number(await setting(sourceClient, "server_version_num")));
    let targetMajor: number | undefined;
    if (targetClient) targetMajor = serverMajor(Number(await setting(targetClient, "server_version_num")));
    else {
      const server = await openTargetServer(target);
      try {
        targetMajor = serverMajor(Number(await setting(server, "server_version_num")));
      } finally {
        await server.end().catch(() => undefined);
      }
    }
    const state = await targetState(targetClient, name);
    const foreign = state.kind === "presync" && state.marker.stack !== options.stack;
    if (foreign && state.kind === "presync") {
      problems.push(
        `target ${target.display} is a presync copy of stack ${state.marker.stack}, not of ${options.stack}; refusing and leaving it untouched`,
      );
    }
    if (options.mode === "start") {
      const version = presyncVersionProblem(sourceMajor, targetMajor);
      if (version) problems.push(version);
      if (state.kind === "other") {
        problems.push(
          `target ${target.display} is not empty (${state.contents.length} objects, e.g. ${state.contents.slice(0, 3).join(", ")}) and not a presync copy of ours; refusing and leaving it untouched: point ${names.target} at a new database`,
        );
      }
      const running = state.kind === "presync" && !foreign && state.subscription !== undefined;
      if (!running && !foreign) {
        problems.push(...(await sourceProblems(sourceClient, name, names)));
        // The subscriber's role and capacity; the database itself may not exist yet.
        const subscriber = targetClient ?? (await openTargetServer(target));
        try {
          problems.push(...(await targetSubscriberProblems(subscriber, targetMajor, names)));
        } finally {
          if (subscriber !== targetClient) await subscriber.end().catch(() => undefined);
        }
        const keep = await setting(sourceClient, "max_slot_wal_keep_size");
        if (keep !== undefined && keep !== "-1") {
          warnings.push(
            `source: max_slot_wal_keep_size is ${keep}: if the target falls further behind, the source drops the WAL the slot needs and the presync has to start over`,
          );
        }
      }
      if (running) {
        const { slots } = await sourceObjects(sourceClient, name);
        if (slots.length === 0) {
          problems.push(
            `the presync's replication slot ${name} is gone from the source while its subscription is on the target: remove it (${names.presync} false, or \`maint db-presync remove\`) and start again`,
          );
        }
      }
    } else {
      if (state.kind !== "presync") {
        problems.push(
          `target ${target.display} is not a presync copy (no presync marker): nothing to cut over; set ${names.presync} true in phase running first, or migrate without presync`,
        );
      } else if (!foreign && state.subscription !== undefined) {
        const { slots } = await sourceObjects(sourceClient, name);
        if (slots.length === 0 || slots[0].walStatus === "lost") {
          problems.push(
            `the presync's replication slot ${name} is ${slots.length === 0 ? "gone from" : "lost on"} the source: the copy cannot catch up; remove the presync and start again`,
          );
        }
        const drift = await readSchemaDrift(sourceClient, targetClient!, !options.noOwner);
        if (drift.length > 0) problems.push(driftProblem(drift, names));
      } else if (!foreign) {
        warnings.push(
          `the presync's subscription is no longer on the target (an interrupted cut-over, or a removal): the cut-over will verify the copy in full`,
        );
      }
    }
    return { problems, warnings, state, sourceMajor, targetMajor };
  } finally {
    await sourceClient.end().catch(() => undefined);
    await targetClient?.end().catch(() => undefined);
  }
}

/** The tables a presync publishes: those the copy copies. */
export async function publishedTables(client: Client): Promise<string[]> {
  return (await tablesToCopy(client)).map((t) => t.name);
}
