/**
 * What the database benchmarks share: SQL and processes against the bench's servers, CPU
 * seconds from /proc, and the fill (pgbench tables plus Tines-like events, logs and blobs).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { startPostgres, type RunningServer } from "../testkit/servers/localServers";

export function dbUrl(server: string, db: string): string {
  const url = new URL(server);
  url.pathname = `/${db}`;
  return url.toString();
}

/** utime + stime (+ cutime + cstime with `children`) of a process, in seconds, from /proc. */
export function cpuSeconds(pid: number | "self", children: boolean, self = true): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  // fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15);
  const ticks = (self ? utime + stime : 0) + (children ? cutime + cstime : 0);
  return ticks / 100;
}

/** The postmaster's PID: the parent of a backend, read while the backend lives. */
export async function postmasterPid(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const stat = readFileSync(`/proc/${rows[0].pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } finally {
    await client.end();
  }
}

export async function sql(url: string, text: string): Promise<string | undefined> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(text);
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    const row = last?.rows?.[0];
    return row ? String(Object.values(row)[0]) : undefined;
  } finally {
    await client.end();
  }
}

export interface Outcome {
  seconds: number;
  stdout: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on("close", (code) =>
      code === 0
        ? resolve({ seconds: (Date.now() - started) / 1000, stdout: out })
        : reject(new Error(`${cmd} ${args[0]} exited ${code}: ${err}`)),
    );
  });
}

/** pgbench at `scale`, then events/logs/blobs for `extraMiB`. `tiny` is 10 rows a table. */
export async function fill(url: string, size: string): Promise<void> {
  const u = new URL(url);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  const tiny = size === "tiny";
  // The database ends up about 10% under what the tables are filled for (measured): aim above.
  const mib =
    1.12 * (tiny ? 0 : size.endsWith("gib") ? Number(size.slice(0, -3)) * 1024 : Number(size.slice(0, -2)));
  // About 40% pgbench (15 MiB a scale unit), 60% Tines-like tables.
  const scale = tiny ? 1 : Math.max(1, Math.round((mib * 0.4) / 15));
  await run(
    "pgbench",
    [
      "-i",
      "-q",
      "--foreign-keys",
      "-s",
      String(scale),
      "-h",
      u.hostname,
      "-p",
      u.port,
      "-U",
      "postgres",
      u.pathname.slice(1),
    ],
    env,
  );
  if (tiny) await sql(url, "DELETE FROM pgbench_history; DELETE FROM pgbench_accounts WHERE aid > 10");
  const events = tiny ? 10 : Math.round(mib * 0.35 * 1150);
  const logs = tiny ? 10 : Math.round(mib * 0.15 * 5000);
  const blobs = tiny ? 1 : Math.max(1, Math.round((mib * 0.1) / 2));
  await sql(
    url,
    `CREATE TABLE events (id bigserial PRIMARY KEY, story_id bigint NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL);
     CREATE TABLE logs (id bigserial PRIMARY KEY, event_id bigint, level smallint, message text);
     CREATE TABLE blobs (id serial PRIMARY KEY, body bytea);
     INSERT INTO events (story_id, payload, created_at)
     SELECT 1 + g % 500,
            jsonb_build_object('id', g, 'kind', 'webhook', 'body', repeat(md5(g::text), 12),
                               'headers', jsonb_build_object('x-request-id', md5((g * 7)::text), 'agent', 'bench'),
                               'tags', jsonb_build_array(g % 10, g % 100, md5((g * 3)::text))),
            now() - make_interval(secs => g)
       FROM generate_series(1, ${events}) g;
     INSERT INTO logs (event_id, level, message)
     SELECT g % ${events} + 1, g % 5, 'agent ' || (g % 997) || ' emitted ' || md5(g::text) || ' ' || md5((g + 1)::text)
       FROM generate_series(1, ${logs}) g;
     INSERT INTO blobs (body) SELECT decode(string_agg(md5(g::text || i::text), ''), 'hex')
       FROM generate_series(1, ${blobs}) g, generate_series(1, 131072) i GROUP BY g;
     CREATE INDEX events_story_created ON events (story_id, created_at);
     CREATE INDEX events_payload_tags ON events USING gin ((payload -> 'tags'));
     CREATE INDEX logs_event ON logs (event_id);`,
  );
  await sql(url, "VACUUM ANALYZE");
}

export function pgArgs(url: string, db?: string): string[] {
  const u = new URL(url);
  return [
    "-h",
    u.hostname,
    "-p",
    u.port,
    "-U",
    decodeURIComponent(u.username),
    "-d",
    db ?? u.pathname.slice(1),
  ];
}
export function pgEnv(url: string): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: decodeURIComponent(new URL(url).password) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A source and a target PostgreSQL cluster, started in parallel, and a work directory for
 * `bench`; all removed when it ends, however it ends.
 */
export async function withBenchClusters<T>(
  workPrefix: string,
  bench: (clusters: { source: RunningServer; target: RunningServer; work: string }) => Promise<T>,
): Promise<T> {
  const servers: RunningServer[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), workPrefix));
  try {
    const [source, target] = await Promise.all([
      startPostgres("bench-source"),
      startPostgres("bench-target"),
    ]);
    servers.push(source, target);
    return await bench({ source, target, work });
  } finally {
    rmSync(work, { recursive: true, force: true });
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Runs a benchmark's `main` as the process: a failure is one line on stderr and exit 1. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
