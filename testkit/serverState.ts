/**
 * Test helper: what a PostgreSQL server holds, as far as a refusal must leave it alone:
 * its databases and roles, and in each given database its schemas, relations and the
 * row count of every table.
 */
import { withClient } from "./databases";

export interface ServerState {
  databases: string[];
  roles: string[];
  /** database -> `schema.relation (kind): rows` lines */
  contents: Record<string, string[]>;
}

function onDatabase(server: string, database: string): string {
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function serverState(server: string, databases: string[]): Promise<ServerState> {
  const [dbList, roles] = await withClient(server, async (c) => [
    (await c.query<{ n: string }>("SELECT datname AS n FROM pg_database ORDER BY 1")).rows.map((r) => r.n),
    (await c.query<{ n: string }>("SELECT rolname AS n FROM pg_roles ORDER BY 1")).rows.map((r) => r.n),
  ]);
  const contents: Record<string, string[]> = {};
  for (const db of databases.filter((d) => dbList.includes(d))) {
    contents[db] = await withClient(onDatabase(server, db), async (c) => {
      const { rows } = await c.query<{ name: string; kind: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS kind
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1`,
      );
      const out: string[] = [];
      for (const r of rows) {
        const count =
          r.kind === "r"
            ? (await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${r.name}`)).rows[0].n
            : "-";
        out.push(`${r.name} (${r.kind}): ${count}`);
      }
      const schemas = (
        await c.query<{ n: string }>(
          "SELECT nspname AS n FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' ORDER BY 1",
        )
      ).rows.map((r) => `schema ${r.n}`);
      return [...schemas, ...out];
    });
  }
  return { databases: dbList, roles, contents };
}
