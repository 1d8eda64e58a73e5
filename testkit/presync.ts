/**
 * Test helper for presync: a Tines-like source that logical replication can carry (every
 * table keyed, one by a composite key), a writer that inserts, updates and deletes on
 * several tables (jsonb, TOASTed values, the composite key) until stopped, and what is left of
 * the replication on both servers.
 */
import { Client } from "pg";
import { parsePgUrl } from "../lib/database/connection";
import { removePresync } from "../lib/database/presyncObjects";
import { realClock, silentReporter } from "../lib/progress";
import { waitForApplied } from "../lib/database/catchUp";
import { fillTinesLike, namedDatabase, serverUrl, withClient, type TestDatabase } from "./databases";

/** fillTinesLike, with a key on its keyless table, and a table keyed by (story_id, run_id). */
export async function fillForPresync(url: string, options: { rows?: number; largeRows?: number } = {}) {
  await fillTinesLike(url, options);
  await withClient(url, async (c) => {
    await c.query(`
      ALTER TABLE public.empty_table ADD PRIMARY KEY (id);
      CREATE TABLE tines.action_runs (
        story_id bigint NOT NULL, run_id bigint NOT NULL, state text NOT NULL, output jsonb,
        PRIMARY KEY (story_id, run_id));
      INSERT INTO tines.action_runs SELECT 1 + g % 50, g, 'done', jsonb_build_object('g', g) FROM generate_series(1, 500) g;
    `);
  });
}

export interface Writer {
  /** Stop after the transaction in flight; resolves with how many transactions committed. */
  stop(): Promise<number>;
  /** Transactions committed so far. */
  readonly commits: number;
}

/**
 * One session writing transactions back to back (with a short pause), each touching
 * several tables: new events with jsonb, updates of payloads, deletes, TOASTed blobs
 * rewritten, composite-key rows inserted, updated and deleted.
 */
export async function startWriter(url: string, pauseMs = 5): Promise<Writer> {
  const client = new Client({ connectionString: url, application_name: "test writer" });
  await client.connect();
  // Composite keys of this writer's own, whatever other writers left in the table.
  const runBase = (
    await client.query<{ next: string }>(
      "SELECT (coalesce(max(run_id), 0) + 1000000)::text AS next FROM tines.action_runs",
    )
  ).rows[0].next;
  let stopping = false;
  let commits = 0;
  let failure: unknown;
  const loop = (async () => {
    let i = 0;
    while (!stopping) {
      i += 1;
      try {
        await client.query("BEGIN");
        await client.query(
          `INSERT INTO tines.events (story_id, payload, status, amount, raw)
           VALUES (1 + $1::int % 50, jsonb_build_object('writer', $1::int, 'tags', jsonb_build_array('w', $1::text)), 'running', $1::int * 0.5, decode(md5($1::text), 'hex'))`,
          [i],
        );
        await client.query(
          "UPDATE tines.events SET payload = payload || jsonb_build_object('touched', $1::int), status = 'done' WHERE id = (SELECT min(id) + $1::int % 97 FROM tines.events)",
          [i],
        );
        if (i % 3 === 0)
          await client.query("DELETE FROM tines.events WHERE id = (SELECT min(id) FROM tines.events)");
        await client.query(
          `INSERT INTO tines.action_runs (story_id, run_id, state, output) VALUES (1 + $1::int % 50, $2::bigint + $1::int, 'running', jsonb_build_object('i', $1::int))`,
          [i, runBase],
        );
        await client.query(
          "UPDATE tines.action_runs SET state = 'done', output = output || '{\"ok\": true}' WHERE story_id = 1 + $1::int % 50 AND run_id = $2::bigint + $1::int",
          [i, runBase],
        );
        if (i % 4 === 0)
          await client.query(
            "DELETE FROM tines.action_runs WHERE (story_id, run_id) = (SELECT story_id, run_id FROM tines.action_runs ORDER BY run_id LIMIT 1)",
          );
        if (i % 25 === 0) {
          // A new TOASTed value (~256 KiB) and a rewrite of an old one.
          await client.query(
            "INSERT INTO public.blobs (body, data) SELECT string_agg(md5($1::text || g::text), ''), decode(repeat(md5($1::text), 64), 'hex') FROM generate_series(1, 8192) g",
            [i],
          );
          await client.query(
            "UPDATE public.blobs SET body = body || 'x' WHERE id = (SELECT min(id) FROM public.blobs)",
          );
        }
        await client.query("UPDATE tines.stories SET name = name WHERE id = 1 + $1::int % 50", [i]);
        await client.query("COMMIT");
        commits += 1;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        failure = error;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    get commits() {
      return commits;
    },
    async stop() {
      stopping = true;
      await loop;
      await client.end().catch(() => undefined);
      if (failure) throw failure;
      return commits;
    },
  };
}

export interface ReplicationLeft {
  slots: string[];
  publications: string[];
  subscriptions: string[];
}

/** Every slot and publication on the source's server and database, every subscription on the target's. */
export async function replicationLeft(sourceUrl: string, targetUrl: string): Promise<ReplicationLeft> {
  const [slots, publications] = await withClient(sourceUrl, async (c) => [
    (
      await c.query<{ n: string }>(
        "SELECT slot_name AS n FROM pg_replication_slots WHERE database = current_database()",
      )
    ).rows.map((r) => r.n),
    (await c.query<{ n: string }>("SELECT pubname AS n FROM pg_publication")).rows.map((r) => r.n),
  ]);
  let subscriptions: string[] = [];
  try {
    subscriptions = await withClient(targetUrl, async (c) =>
      (
        await c.query<{ n: string }>(
          "SELECT subname AS n FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
      ).rows.map((r) => r.n),
    );
  } catch (error) {
    if ((error as { code?: string }).code !== "3D000") throw error;
  }
  return { slots, publications, subscriptions };
}

export const NOTHING_LEFT: ReplicationLeft = { slots: [], publications: [], subscriptions: [] };

/** `schema.sequence` -> last_value of every sequence in the database. */
export async function sequenceValues(url: string): Promise<Record<string, bigint>> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string; value: string }>(
      "SELECT format('%I.%I', schemaname, sequencename) AS name, coalesce(last_value, 0)::text AS value FROM pg_sequences",
    );
    return Object.fromEntries(rows.map((r) => [r.name, BigInt(r.value)]));
  });
}

/** Exists `database` on the server of `serverUrl`? */
export async function databaseExists(serverUrl: string, database: string): Promise<boolean> {
  return withClient(
    serverUrl,
    async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])).rowCount === 1,
  );
}

/** Until presync `name` has applied everything the source wrote so far: the wait the cut-over itself uses. */
export async function waitCaughtUp(sourceUrl: string, targetUrl: string, name: string): Promise<void> {
  await withClient(sourceUrl, (source) =>
    withClient(targetUrl, async (target) => {
      // The insert position: an asynchronously committed row is written there before it is flushed.
      const lsn = (await source.query<{ l: string }>("SELECT pg_current_wal_insert_lsn()::text AS l")).rows[0]
        .l;
      const { caughtUp, behind } = await waitForApplied(source, target, name, lsn, {
        step: "test catch-up",
        timeoutMs: 30_000,
        clock: realClock,
        reporter: silentReporter,
      });
      if (!caughtUp) throw new Error(`presync ${name} did not catch up: ${behind} bytes behind`);
    }),
  );
}

/**
 * Drop test databases that a presync may still tie together: the replication of ours first
 * (a source with a slot, or a target with a subscription, cannot be dropped), then each database.
 */
export async function dropPresyncDatabases(sources: TestDatabase[], targets: TestDatabase[]): Promise<void> {
  for (const source of sources) {
    for (const target of targets) {
      await removePresync({
        source: parsePgUrl(source.url, "source"),
        target: parsePgUrl(target.url, "target"),
        reporter: silentReporter,
      }).catch(() => undefined);
    }
  }
  await Promise.all([...sources, ...targets].map((d) => d.drop()));
}

/** `name` on the test target server, not created (a presync creates it); `drop()` drops it if there. */
export function targetDatabase(name: string): TestDatabase {
  return namedDatabase(serverUrl("TEST_PG_TARGET_URL"), name);
}
