/**
 * Benchmark: our verified migration against the seed's `pg_dump -Fc -f` + `pg_restore`,
 * in the same run, on a database of at least 1 GiB, on two PostgreSQL clusters started
 * here. Prints both times and the ratio. Not part of `npm test`.
 *
 *   npx tsx bench/db-migrate.ts [--gib 1.2] [--jobs N] [--with-dump]
 *
 * `--with-dump` also times the previous method (`pg_dump -Fd -Z0 -j` + `pg_restore -j`, then
 * verification), which db-migrate still uses to replace a non-empty target.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { defaultJobs, migrateDatabase } from "../lib/database/migrate";
import { formatBytes } from "../lib/database/progress";
import { silentReporter } from "../lib/progress";
import { startPostgres, type RunningServer } from "../test/servers/localServers";

function dbUrl(server: string, db: string): string {
  const url = new URL(server);
  url.pathname = `/${db}`;
  return url.toString();
}

async function sql(url: string, text: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function scalar(url: string, text: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return String(Object.values((await client.query(text)).rows[0])[0]);
  } finally {
    await client.end();
  }
}

/** A Tines-like database: jsonb events with indexes, text logs, large TOASTed rows, sequences. */
async function fill(url: string, gib: number): Promise<void> {
  const eventRows = Math.round(900_000 * gib);
  const logRows = Math.round(1_500_000 * gib);
  await sql(
    url,
    `CREATE TABLE stories (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
     CREATE TABLE events (id bigserial PRIMARY KEY, story_id bigint NOT NULL REFERENCES stories(id), payload jsonb NOT NULL,
                          created_at timestamptz NOT NULL);
     CREATE TABLE logs (id bigserial PRIMARY KEY, event_id bigint, level smallint, message text);
     CREATE TABLE blobs (id serial PRIMARY KEY, body bytea);
     INSERT INTO stories (name) SELECT 'story ' || g FROM generate_series(1, 500) g;`,
  );
  await sql(
    url,
    `INSERT INTO events (story_id, payload, created_at)
     SELECT 1 + g % 500,
            jsonb_build_object('id', g, 'kind', 'webhook', 'body', repeat(md5(g::text), 12),
                               'headers', jsonb_build_object('x-request-id', md5((g * 7)::text), 'agent', 'bench'),
                               'tags', jsonb_build_array(g % 10, g % 100, md5((g * 3)::text))),
            now() - make_interval(secs => g)
       FROM generate_series(1, ${eventRows}) g`,
  );
  await sql(
    url,
    `INSERT INTO logs (event_id, level, message)
     SELECT g % ${eventRows} + 1, g % 5, 'agent ' || (g % 997) || ' emitted ' || md5(g::text) || ' ' || md5((g + 1)::text)
       FROM generate_series(1, ${logRows}) g`,
  );
  await sql(
    url,
    `INSERT INTO blobs (body) SELECT decode(string_agg(md5(g::text || i::text), ''), 'hex')
       FROM generate_series(1, ${Math.round(100 * gib)}) g, generate_series(1, 65536) i GROUP BY g`,
  );
  await sql(
    url,
    `CREATE INDEX events_story_created ON events (story_id, created_at);
     CREATE INDEX events_payload ON events USING gin ((payload -> 'tags'));
     CREATE INDEX logs_event ON logs (event_id);`,
  );
  await sql(url, "VACUUM ANALYZE");
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`)),
    );
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { gib: { type: "string" }, jobs: { type: "string" }, "with-dump": { type: "boolean" } },
  });
  const gib = Number(values.gib ?? "1.2");
  const jobs = values.jobs ? Number(values.jobs) : defaultJobs();
  const servers: RunningServer[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), "bench-db-"));
  try {
    const [source, target] = await Promise.all([
      startPostgres("bench-source"),
      startPostgres("bench-target"),
    ]);
    servers.push(source, target);
    const sourceUrl = dbUrl(source.url, "tines");
    await sql(source.url, "CREATE DATABASE tines");
    let t = Date.now();
    await fill(sourceUrl, gib);
    const size = Number(await scalar(sourceUrl, "SELECT pg_database_size(current_database())"));
    console.log(
      `source database: ${formatBytes(size)} (filled in ${((Date.now() - t) / 1000).toFixed(0)}s), ${os.cpus().length} cores, jobs ${jobs}`,
    );
    if (size < 1024 ** 3) throw new Error(`the database is ${formatBytes(size)}, under 1 GiB; raise --gib`);

    // The seed's commands, as the runbook gives them (-v included), timed end to end.
    const src = new URL(source.url);
    const tgt = new URL(target.url);
    await sql(target.url, "CREATE DATABASE seed_copy");
    const file = path.join(work, "tines_migration_snapshot.dump");
    t = Date.now();
    await run(
      "pg_dump",
      ["-h", src.hostname, "-p", src.port, "-U", "postgres", "-d", "tines", "-Fc", "-v", "-f", file],
      {
        ...process.env,
        PGPASSWORD: decodeURIComponent(src.password),
      },
    );
    const seedDump = (Date.now() - t) / 1000;
    await run(
      "pg_restore",
      ["-h", tgt.hostname, "-p", tgt.port, "-U", "postgres", "-d", "seed_copy", "-v", file],
      {
        ...process.env,
        PGPASSWORD: decodeURIComponent(tgt.password),
      },
    );
    const seed = (Date.now() - t) / 1000;
    console.log(
      `seed  pg_dump -Fc + pg_restore:  ${seed.toFixed(1)}s (dump ${seedDump.toFixed(1)}s, restore ${(seed - seedDump).toFixed(1)}s, archive ${formatBytes(statSync(file).size)})`,
    );
    rmSync(file);

    const result = await migrateDatabase({
      sourceUrl,
      targetUrl: dbUrl(target.url, "our_copy"),
      jobs,
      workDir: work,
      reporter: silentReporter,
    });
    const copy = result.seconds.dump + result.seconds.restore;
    console.log(
      `ours  db-migrate (streamed, ${jobs} workers): ${copy.toFixed(1)}s copy (schema + rows ${result.seconds.dump.toFixed(1)}s, indexes and constraints ${result.seconds.restore.toFixed(1)}s)` +
        ` + ${result.seconds.verify.toFixed(1)}s verification not overlapped with the copy = ${result.seconds.total.toFixed(1)}s; ${result.comparison.mismatches.length} mismatches`,
    );
    console.log(`ratio seed / ours (copy only):         ${(seed / copy).toFixed(2)}x`);
    console.log(`ratio seed / ours (with verification): ${(seed / result.seconds.total).toFixed(2)}x`);
    if (values["with-dump"]) {
      const dump = await migrateDatabase({
        sourceUrl,
        targetUrl: dbUrl(target.url, "dump_copy"),
        jobs,
        workDir: work,
        allowNonEmptyTarget: true,
        reporter: silentReporter,
      });
      const s = dump.seconds;
      console.log(
        `prev  db-migrate (-Fd -Z0 -j ${jobs}): ${(s.dump + s.restore).toFixed(1)}s copy (dump ${s.dump.toFixed(1)}s, restore ${s.restore.toFixed(1)}s)` +
          ` + ${s.verify.toFixed(1)}s verification = ${s.total.toFixed(1)}s; ${dump.comparison.mismatches.length} mismatches`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
