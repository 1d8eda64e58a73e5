/**
 * Test helper: unique databases on the test PostgreSQL servers, filled with what a Tines
 * database has (several tables, indexes, sequences, jsonb, large TOASTed rows, an enum, a
 * view, a trigger, an extension, an owning role), dropped again by `drop()`.
 */
import { randomBytes } from "node:crypto";
import { Client } from "pg";

export const OWNER_ROLE = "tines_test_owner";

export function serverUrl(variable: "TEST_PG_SOURCE_URL" | "TEST_PG_TARGET_URL"): string {
  const url = process.env[variable];
  if (!url)
    throw new Error(
      `${variable} is not set: the test servers (testkit/servers/globalSetup.ts) did not start`,
    );
  return url;
}

export function databaseUrl(server: string, database: string): string {
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Roles are per cluster: create once, tolerate the race between test files. */
export async function ensureRole(server: string, role: string): Promise<void> {
  await withClient(server, (c) =>
    c.query(
      `DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
    ),
  );
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createDatabase(server: string, prefix = "t"): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await withClient(server, (c) => c.query(`CREATE DATABASE ${name}`));
  return namedDatabase(server, name);
}

/** `name` on `server`, whether it exists or not; `drop()` drops it (and its sessions) if there. */
export function namedDatabase(server: string, name: string): TestDatabase {
  return {
    name,
    url: databaseUrl(server, name),
    drop: () =>
      withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

/** A small Tines-like schema; `largeRows` rows of ~1 MiB each go to TOAST. */
export async function fillTinesLike(
  url: string,
  options: { rows?: number; largeRows?: number; owner?: string } = {},
) {
  const rows = options.rows ?? 2000;
  const largeRows = options.largeRows ?? 5;
  await withClient(url, async (c) => {
    await c.query(`
      CREATE EXTENSION IF NOT EXISTS citext;
      CREATE SCHEMA tines;
      CREATE TYPE tines.run_status AS ENUM ('pending', 'running', 'done');
      CREATE TABLE tines.stories (id bigserial PRIMARY KEY, name citext NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE tines.events (
        id bigserial PRIMARY KEY, story_id bigint NOT NULL REFERENCES tines.stories(id),
        payload jsonb NOT NULL, status tines.run_status NOT NULL DEFAULT 'pending',
        amount numeric(12, 3), ratio double precision, happened interval, raw bytea);
      CREATE INDEX events_story_idx ON tines.events (story_id, status);
      CREATE INDEX events_payload_gin ON tines.events USING gin (payload);
      CREATE TABLE public.blobs (id serial PRIMARY KEY, body text, data bytea);
      CREATE SEQUENCE public.standalone_seq START 100;
      CREATE VIEW tines.event_counts AS SELECT story_id, count(*) FROM tines.events GROUP BY story_id;
      CREATE FUNCTION tines.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
      CREATE TRIGGER stories_touch BEFORE UPDATE ON tines.stories FOR EACH ROW EXECUTE FUNCTION tines.touch();
      CREATE TABLE public.empty_table (id int);
    `);
    await c.query(`INSERT INTO tines.stories (name) SELECT 'Story ' || g FROM generate_series(1, 50) g`);
    await c.query(
      `INSERT INTO tines.events (story_id, payload, status, amount, ratio, happened, raw)
       SELECT 1 + g % 50, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g::text), 'nested', jsonb_build_object('x', g * 0.1)),
              (ARRAY['pending', 'running', 'done'])[1 + g % 3]::tines.run_status, g * 1.125, g / 7.0, make_interval(secs => g),
              decode(md5(g::text), 'hex')
         FROM generate_series(1, $1::int) g`,
      [rows],
    );
    await c.query(
      `INSERT INTO public.blobs (body, data)
       SELECT string_agg(md5(g::text || '-' || i::text), '' ), decode(repeat(md5(g::text), 16), 'hex')
         FROM generate_series(1, $1::int) g, generate_series(1, 32768) i GROUP BY g`,
      [largeRows],
    );
    await c.query(`SELECT nextval('public.standalone_seq'), nextval('public.standalone_seq')`);
    if (options.owner) {
      await c.query(`ALTER TABLE public.blobs OWNER TO ${options.owner}`);
      await c.query(`GRANT SELECT ON tines.events TO ${options.owner}`);
    }
  });
}
