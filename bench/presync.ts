/**
 * Benchmark: downtime of a database move, from the last write (the app tier stopped) to a
 * verified copy, with and without presync, every method on the same data in the same run.
 * Not part of `npm test`.
 *
 *   npx tsx bench/presync.ts [--sizes 100mb,1gib,3gib] [--methods seed,pgcopydb,pgcopydb-follow,ours,ours-presync]
 *                            [--jobs 2] [--writer-seconds 10] [--writer-rate 20] [--follow-timeout 900] [--rounds 1]
 *
 * For each method a writer (one session, `--writer-rate` transactions a second on
 * pgbench_accounts, pgbench_history, events with jsonb, logs, and deletes) runs first, as
 * Tines would (a faster writer outruns pgcopydb's apply on this machine under load); a
 * presync method starts its copy with the writer running and the writer goes on for
 * `--writer-seconds` after the copy follows, and then until the follower has applied what the
 * source had written by then (as after hours of presync: the backlog of the copy is applied);
 * the others copy after the writer stopped. Then
 * the clock starts (the writer stopped), and runs until:
 * - seed: `pg_dump -Fc` + `pg_restore` done;
 * - pgcopydb: `pgcopydb clone` (no follow) done;
 * - pgcopydb-follow: `pgcopydb clone --follow` started before, then its cut-over:
 *   `pgcopydb stream sentinel set endpos --current`, the clone exits at that position, then
 *   `pgcopydb copy sequences`;
 * - ours: db-migrate (copy and full verification, in this process);
 * - ours-presync: presync (startPresync) before, then the cut-over (cutOver: catch-up,
 *   replication removed, sequences, the changed-rows verification), in this process, as the
 *   gate runs it inside the provider.
 * Methods without a verification of their own are then verified by ours in full (verify.ts),
 * which gives the "verified" column. After ours-presync, the same full verification is run
 * too (not counted): what verifying everything would have cost at that moment, and an
 * independent check that the copy is identical.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { valueFlags } from "../cli/command";
import { Client } from "pg";
import { parsePgUrl } from "../lib/database/connection";
import { cutOver } from "../lib/database/cutover";
import { migrateDatabase } from "../lib/database/migrate";
import { startPresync } from "../lib/database/presync";
import { formatBytes } from "../lib/database/progress";
import { verifyCopy } from "../lib/database/verify";
import { silentReporter, type ProgressReporter } from "../lib/progress";
import { dbUrl, fill, median, pgArgs, pgEnv, run, runBenchmark, sql, withBenchClusters } from "./pgBench";

interface Writer {
  stop(): Promise<{ commits: number; seconds: number }>;
}

/** Tines-like writes, back to back on one session, until stopped. */
/** Transactions a second of the writer (`--writer-rate`): both followers keep up with it here. */
let writerRate = 20;
/** How long pgcopydb's follow may take to reach its end position after the stop (`--follow-timeout`). */
let followTimeoutSeconds = 900;

async function startWriter(url: string): Promise<Writer> {
  const client = new Client({ connectionString: url, application_name: "bench writer" });
  await client.connect();
  const { rows } = await client.query<{ accounts: string; events: string }>(
    "SELECT (SELECT max(aid) FROM pgbench_accounts)::text AS accounts, (SELECT max(id) FROM events)::text AS events",
  );
  const accounts = Number(rows[0].accounts);
  let stopping = false;
  let commits = 0;
  let failure: unknown;
  const started = Date.now();
  const loop = (async () => {
    for (let i = 1; !stopping; i++) {
      const aid = 1 + ((i * 7919) % accounts);
      try {
        await client.query("BEGIN");
        await client.query("UPDATE pgbench_accounts SET abalance = abalance + $2 WHERE aid = $1", [
          aid,
          i % 100,
        ]);
        await client.query(
          "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, $1, $2, now())",
          [aid, i % 100],
        );
        await client.query(
          `INSERT INTO events (story_id, payload, created_at)
           VALUES ($1::int % 500, jsonb_build_object('writer', $1::int, 'body', repeat(md5($1::int::text), 12), 'tags', jsonb_build_array($1::int % 10)), now())`,
          [i],
        );
        await client.query("UPDATE events SET payload = payload || '{\"seen\": true}' WHERE id = $1", [
          1 + ((i * 104729) % Number(rows[0].events)),
        ]);
        await client.query(
          "INSERT INTO logs (event_id, level, message) VALUES ($1::int, 1, 'writer ' || $1::int::text)",
          [i],
        );
        if (i % 5 === 0) await client.query("DELETE FROM logs WHERE id = (SELECT min(id) FROM logs)");
        await client.query("COMMIT");
        commits += 1;
        // Paced to the rate, from the start: a slow transaction is caught up by the next ones.
        const due = started + (commits * 1000) / writerRate;
        if (due > Date.now()) await sleep(due - Date.now());
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        failure = error;
        return;
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await client.end();
      if (failure) throw failure;
      return { commits, seconds: (Date.now() - started) / 1000 };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A follower (whose applied position `appliedSql` reads on the source) runs as it would
 * after hours of presync: it has applied what the source had written a moment ago. Waits (at
 * most 10 minutes) until it applied the source's WAL position of when this was called.
 */
async function caughtUpWithin(source: string, appliedSql: string): Promise<string> {
  const lsn = await sql(source, "SELECT pg_current_wal_lsn()::text");
  const started = Date.now();
  for (;;) {
    const applied = await sql(source, appliedSql).catch(() => undefined);
    const behind = applied
      ? Number(await sql(source, `SELECT pg_wal_lsn_diff('${lsn}', '${applied}')`))
      : Infinity;
    const waited = (Date.now() - started) / 1000;
    if (behind <= 0) return `follower caught up with the writer in ${waited.toFixed(1)}s`;
    if (waited > 600) return `follower still ${formatBytes(behind)} behind after 600s`;
    await sleep(200);
  }
}

interface Outcome {
  /** Writer stopped -> the method's copy is done. */
  copy: number;
  /** Writer stopped -> verified (the method's own, or ours in full after it). */
  verified: number;
  /** Ours in full, run after ours-presync's cut-over (not counted). */
  fullVerifyAfter?: number;
  /** Ours in full found the copy identical to the source. */
  identical: boolean;
  detail: string;
}

interface Context {
  source: string;
  targetServer: string;
  targetDb: string;
  work: string;
  jobs: number;
  writerSeconds: number;
  reporter: ProgressReporter;
}

/** Ours in full: its seconds, and what differed (a method that lost rows is reported, not hidden). */
async function verifyFull(context: Context): Promise<{ seconds: number; mismatches: string[] }> {
  const t = Date.now();
  const { comparison } = await verifyCopy(
    parsePgUrl(context.source, "source"),
    parsePgUrl(dbUrl(context.targetServer, context.targetDb), "target"),
    { jobs: context.jobs, checksumMaxBytes: 10 * 1024 ** 3, compareOwners: true, reporter: silentReporter },
  );
  return { seconds: (Date.now() - t) / 1000, mismatches: comparison.mismatches };
}

function verdict(mismatches: string[]): string {
  return mismatches.length === 0
    ? "identical"
    : `NOT IDENTICAL, ${mismatches.length} mismatches: ${mismatches.slice(0, 3).join("; ")}`;
}

/** A writer for `seconds`, stopped: returns when the clock starts. */
async function writeFor(source: string, seconds: number): Promise<string> {
  const writer = await startWriter(source);
  await sleep(seconds * 1000);
  const { commits, seconds: ran } = await writer.stop();
  return `writer ${commits} tx in ${ran.toFixed(0)}s`;
}

/** pgcopydb's source, target, work directory and jobs: the same for both of its methods. */
function pgcopydbCopyArgs(c: Context, dir: string): string[] {
  const jobs = String(c.jobs);
  return [
    "--source",
    c.source,
    "--target",
    dbUrl(c.targetServer, c.targetDb),
    "--dir",
    dir,
    "--table-jobs",
    jobs,
    "--index-jobs",
    jobs,
  ];
}

/** A method whose copy took `copied` seconds, then ours verified it in full (counted). */
async function verifiedByOurs(context: Context, copied: number, detail: string): Promise<Outcome> {
  const verify = await verifyFull(context);
  return {
    copy: copied,
    verified: copied + verify.seconds,
    identical: verify.mismatches.length === 0,
    detail: `${detail}; verification ${verify.seconds.toFixed(2)}s: ${verdict(verify.mismatches)}`,
  };
}

/** A method without presync: write, stop, then `copy`; verified by ours in full after. */
function offline(copy: (context: Context) => Promise<void>) {
  return async (context: Context): Promise<Outcome> => {
    const wrote = await writeFor(context.source, context.writerSeconds);
    const t0 = Date.now();
    await copy(context);
    return verifiedByOurs(context, (Date.now() - t0) / 1000, wrote);
  };
}

function waitExit(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null)
      return child.exitCode === 0 ? resolve() : reject(new Error(`${what} exited ${child.exitCode}`));
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}`))));
  });
}

const methods: Record<string, (context: Context) => Promise<Outcome>> = {
  seed: offline(async (c) => {
    const file = path.join(c.work, "seed.dump");
    await run("pg_dump", [...pgArgs(c.source), "-Fc", "-f", file], pgEnv(c.source));
    await sql(c.targetServer, `CREATE DATABASE ${c.targetDb}`);
    await run("pg_restore", [...pgArgs(c.targetServer, c.targetDb), file], pgEnv(c.targetServer));
    rmSync(file, { force: true });
  }),
  pgcopydb: offline(async (c) => {
    await sql(c.targetServer, `CREATE DATABASE ${c.targetDb}`);
    const dir = path.join(c.work, "pgcopydb");
    await run("pgcopydb", ["clone", ...pgcopydbCopyArgs(c, dir)], {
      ...process.env,
      PGCOPYDB_LOG_LEVEL: "warn",
    });
    rmSync(dir, { recursive: true, force: true });
  }),
  ours: offline(async (c) => {
    await migrateDatabase({
      sourceUrl: c.source,
      targetUrl: dbUrl(c.targetServer, c.targetDb),
      jobs: c.jobs,
      reporter: silentReporter,
    });
  }),
  "pgcopydb-follow": async (c) => {
    await sql(c.targetServer, `CREATE DATABASE ${c.targetDb}`);
    const dir = path.join(c.work, "pgcopydb-follow");
    const target = dbUrl(c.targetServer, c.targetDb);
    const writer = await startWriter(c.source);
    const clone = spawn("pgcopydb", ["clone", "--follow", ...pgcopydbCopyArgs(c, dir)], { stdio: "ignore" });
    const exited = waitExit(clone, "pgcopydb clone --follow");
    let cleanedUp = false;
    exited.catch(() => undefined);
    const copyStart = Date.now();
    try {
      // The base copy is done once pgcopydb lets its apply process run.
      for (;;) {
        const apply = await sql(c.source, "SELECT apply FROM pgcopydb.sentinel").catch(() => undefined);
        if (apply === "true") break;
        if (clone.exitCode !== null)
          throw new Error(`pgcopydb clone --follow exited ${clone.exitCode} during the copy`);
        await sleep(200);
      }
      const copySeconds = (Date.now() - copyStart) / 1000;
      await sleep(c.writerSeconds * 1000);
      const following = await caughtUpWithin(c.source, "SELECT replay_lsn::text FROM pgcopydb.sentinel");
      const { commits, seconds } = await writer.stop();
      const t0 = Date.now();
      // `--current` is pg_current_wal_flush_lsn(): on a server with synchronous_commit off
      // (these bench servers) it can lie before the last commits, which the copy then lacks
      // (seen: 16 events and 13 logs missing at 100 MB). One synchronous commit flushes them.
      await sql(c.source, "SET synchronous_commit = on; SELECT txid_current()");
      await run("pgcopydb", ["stream", "sentinel", "set", "endpos", "--current", "--source", c.source]);
      // Bounded: 0.10 writes integers over 999999 as floats (bench/presync-results.txt), and
      // each such UPDATE scans its table, so its cut-over can run for an hour.
      const reached = await Promise.race([
        exited.then(() => true),
        sleep(followTimeoutSeconds * 1000).then(() => false),
      ]);
      if (!reached) {
        return {
          copy: Infinity,
          verified: Infinity,
          identical: false,
          detail: `base copy ${copySeconds.toFixed(1)}s; ${following}; did NOT reach its end position within ${followTimeoutSeconds}s of the stop`,
        };
      }
      const caught = (Date.now() - t0) / 1000;
      await run("pgcopydb", [
        "copy",
        "sequences",
        "--source",
        c.source,
        "--target",
        target,
        "--dir",
        path.join(c.work, "pgcopydb-seq"),
      ]);
      const copied = (Date.now() - t0) / 1000;
      const t = Date.now();
      await run("pgcopydb", ["stream", "cleanup", "--source", c.source, "--target", target, "--dir", dir]);
      const cleanup = (Date.now() - t) / 1000;
      cleanedUp = true;
      return verifiedByOurs(
        c,
        copied,
        `base copy ${copySeconds.toFixed(1)}s; writer ${commits} tx in ${seconds.toFixed(0)}s; ${following}; endpos reached ${caught.toFixed(2)}s, sequences ${(copied - caught).toFixed(2)}s; stream cleanup ${cleanup.toFixed(2)}s (not counted)`,
      );
    } finally {
      if (clone.exitCode === null) clone.kill("SIGTERM");
      await exited.catch(() => undefined);
      await writer.stop().catch(() => undefined);
      // Stopped before its cut-over: its slot, origin and `pgcopydb` schema (whose sentinel table
      // has no key, so the next method's presync would rightly refuse the source) stay otherwise.
      if (!cleanedUp) {
        await run("pgcopydb", [
          "stream",
          "cleanup",
          "--source",
          c.source,
          "--target",
          target,
          "--dir",
          dir,
        ]).catch((error: Error) => console.error(`pgcopydb stream cleanup: ${error.message}`));
        await sql(c.source, "DROP SCHEMA IF EXISTS pgcopydb CASCADE");
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(path.join(c.work, "pgcopydb-seq"), { recursive: true, force: true });
    }
  },
  "ours-presync": async (c) => {
    const target = dbUrl(c.targetServer, c.targetDb);
    const writer = await startWriter(c.source);
    let stopped = false;
    try {
      const started = await startPresync({
        sourceUrl: c.source,
        targetUrl: target,
        stack: "bench",
        jobs: c.jobs,
        reporter: silentReporter,
      });
      await sleep(c.writerSeconds * 1000);
      const following = await caughtUpWithin(
        c.source,
        `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '${started.name}'`,
      );
      const { commits, seconds } = await writer.stop();
      stopped = true;
      const t0 = Date.now();
      const cut = await cutOver({
        sourceUrl: c.source,
        targetUrl: target,
        stack: "bench",
        jobs: c.jobs,
        reporter: c.reporter,
      });
      const total = (Date.now() - t0) / 1000;
      if (cut.comparison.mismatches.length > 0)
        throw new Error(`ours-presync: ${cut.comparison.mismatches.join("; ")}`);
      const full = await verifyFull(c);
      const s = cut.seconds;
      return {
        copy: total,
        verified: total,
        identical: full.mismatches.length === 0,
        fullVerifyAfter: full.seconds,
        detail:
          `presync copy ${started.copySeconds.toFixed(1)}s; writer ${commits} tx in ${seconds.toFixed(0)}s; ${following}; ${formatBytes(cut.lagBytesAtStart)} behind at the stop; ` +
          `catch-up ${s.catchUp.toFixed(2)}s, replication removed ${s.teardown.toFixed(2)}s, sequences ${s.sequences.toFixed(2)}s, verification (${cut.verification}) ${s.verify.toFixed(2)}s` +
          `${cut.recheckedInFull.length ? ` (rechecked in full: ${cut.recheckedInFull.join(", ")})` : ""}; full verification at that moment ${full.seconds.toFixed(2)}s (not counted): ${verdict(full.mismatches)}`,
      };
    } finally {
      if (!stopped) await writer.stop().catch(() => undefined);
    }
  },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: valueFlags(
      "sizes",
      "methods",
      "jobs",
      "writer-seconds",
      "writer-rate",
      "follow-timeout",
      "rounds",
    ),
  });
  const sizes = (values.sizes ?? "100mb").split(",");
  const chosen = (values.methods ?? "seed,pgcopydb,pgcopydb-follow,ours,ours-presync").split(",");
  for (const m of chosen)
    if (!methods[m]) throw new Error(`unknown method ${m}; allowed: ${Object.keys(methods).join(", ")}`);
  const jobs = Number(values.jobs ?? "2");
  const writerSeconds = Number(values["writer-seconds"] ?? "10");
  writerRate = Number(values["writer-rate"] ?? "20");
  followTimeoutSeconds = Number(values["follow-timeout"] ?? "900");
  const rounds = Number(values.rounds ?? "1");
  const results: Array<{
    size: string;
    bytes: number;
    method: string;
    outcomes: Outcome[];
    loads: number[];
  }> = [];
  await withBenchClusters("bench-presync-", async ({ source, target, work }) => {
    console.log(
      `${os.cpus().length} cores; methods ${chosen.join(", ")}; jobs ${jobs}; writer ${writerRate} tx/s, ${writerSeconds}s after the copy; load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    for (const size of sizes) {
      const db = `src_${size}`;
      await sql(source.url, `CREATE DATABASE ${db}`);
      const sourceUrl = dbUrl(source.url, db);
      const t = Date.now();
      await fill(sourceUrl, size);
      // pgbench's history table has no key; logical replication needs one (the refusal names it).
      await sql(sourceUrl, "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY");
      await sql(sourceUrl, "VACUUM ANALYZE");
      const bytes = Number(await sql(sourceUrl, "SELECT pg_database_size(current_database())"));
      console.log(
        `\n== ${size}: source ${formatBytes(bytes)} (filled in ${((Date.now() - t) / 1000).toFixed(0)}s)`,
      );
      for (let round = 0; round < rounds; round++) {
        const order = chosen.map((_, i) => chosen[(i + round) % chosen.length]);
        for (const method of order) {
          const targetDb = `t_${method.replace(/-/g, "_")}_${round}`;
          const load = os.loadavg()[0];
          const outcome = await methods[method]({
            source: sourceUrl,
            targetServer: target.url,
            targetDb,
            work,
            jobs,
            writerSeconds,
            reporter: silentReporter,
          });
          const loadAfter = os.loadavg()[0];
          let entry = results.find((r) => r.size === size && r.method === method);
          if (!entry) results.push((entry = { size, bytes, method, outcomes: [], loads: [] }));
          entry.outcomes.push(outcome);
          entry.loads.push((load + loadAfter) / 2);
          console.log(
            `round ${round + 1} ${method.padEnd(16)} copy ${outcome.copy.toFixed(2).padStart(7)}s  verified ${outcome.verified.toFixed(2).padStart(7)}s  load ${((load + loadAfter) / 2).toFixed(1)}  ${outcome.detail}`,
          );
          await sql(target.url, `DROP DATABASE IF EXISTS ${targetDb} WITH (FORCE)`);
          await sql(target.url, "CHECKPOINT");
        }
      }
      await sql(source.url, `DROP DATABASE ${db} WITH (FORCE)`);
    }
    console.log("\ndowntime (writer stopped -> copy done / verified), median of the rounds, seconds");
    console.log(`| size | ${chosen.map((m) => `${m} copy | ${m} verified`).join(" | ")} | mean load |`);
    console.log(`|------|${chosen.map(() => "------|------").join("|")}|------|`);
    for (const size of sizes) {
      const rows = chosen.map((m) => results.find((r) => r.size === size && r.method === m)!);
      const loads = rows.flatMap((r) => r.loads);
      console.log(
        `| ${size} (${formatBytes(rows[0].bytes)}) | ${rows
          .map(
            (r) =>
              `${median(r.outcomes.map((o) => o.copy)).toFixed(2)} | ${median(r.outcomes.map((o) => o.verified)).toFixed(2)}` +
              (r.outcomes.every((o) => o.identical)
                ? ""
                : ` (${r.outcomes.filter((o) => !o.identical).length} of ${r.outcomes.length} NOT IDENTICAL)`),
          )
          .join(" | ")} | ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(1)} |`,
      );
    }
  });
}

runBenchmark(main);
