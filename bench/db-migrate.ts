/**
 * Benchmark: copying one database to a new instance, every method on the same data in the
 * same run, in interleaved rounds (each round runs every method once, in a rotated order),
 * so that the load of a shared machine falls on all of them alike. Not part of `npm test`.
 *
 *   npm run build:cli && npx tsx bench/db-migrate.ts [--sizes tiny,100mb,1gib] [--rounds 3] [--jobs 2,4]
 *
 * Methods, each timed from nothing to a usable target database (CREATE DATABASE included):
 * - seed: the runbook's `pg_dump -Fc -v -f` + `pg_restore -v`;
 * - fd-j2: `pg_dump -Fd -j2` + `pg_restore -j2`;
 * - pgcopydb-jN: Debian's `pgcopydb clone --table-jobs N --index-jobs N` (0.10's defaults are
 *   4 and 4; it also VACUUM ANALYZEs), no verification. Compared like with like: pgcopydb-j2
 *   against ours-j2 (two copy and two index processes at most against two workers), pgcopydb-j4
 *   against ours-j4;
 * - ours-jN: the compiled `db-migrate` (dist/db-migrate.js) as a child process, start-up,
 *   copy, ANALYZE and full verification included, with its own per-phase marks.
 *
 * Besides the wall time, each method's CPU seconds: its own process tree (reaped children
 * of this process: pg_dump, pgcopydb and its workers, node) plus both servers' backends
 * (reaped children of each postmaster). On a shared machine the wall time depends on the
 * share of the cores a method's processes get; the CPU seconds do not.
 *
 * The data: pgbench tables (with foreign keys) plus Tines-like events (jsonb payload with a
 * GIN and a btree index), logs (text) and blobs (TOASTed bytea).
 */
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { valueFlags } from "../cli/command";
import { formatBytes } from "../lib/database/progress";
import {
  cpuSeconds,
  dbUrl,
  fill,
  median,
  pgArgs,
  pgEnv,
  postmasterPid,
  run,
  runBenchmark,
  sql,
  withBenchClusters,
} from "./pgBench";

const root = path.resolve(__dirname, "..");

interface Method {
  name: string;
  run(
    sourceUrl: string,
    targetServer: string,
    targetDb: string,
    work: string,
  ): Promise<{ seconds: number; phases?: string }>;
}

const methods: Record<string, (jobs: number) => Method> = {
  seed: () => ({
    name: "seed pg_dump -Fc + pg_restore",
    async run(source, server, db, work) {
      const file = path.join(work, "seed.dump");
      const t = Date.now();
      await run("pg_dump", [...pgArgs(source), "-Fc", "-v", "-f", file], pgEnv(source));
      const dump = (Date.now() - t) / 1000;
      await sql(server, `CREATE DATABASE ${db}`);
      await run("pg_restore", [...pgArgs(server, db), "-v", file], pgEnv(server));
      const seconds = (Date.now() - t) / 1000;
      rmSync(file, { force: true });
      return { seconds, phases: `dump ${dump.toFixed(1)}s, restore ${(seconds - dump).toFixed(1)}s` };
    },
  }),
  "fd-j2": () => ({
    name: "pg_dump -Fd -j2 + pg_restore -j2",
    async run(source, server, db, work) {
      const dir = path.join(work, "fd");
      const t = Date.now();
      await run("pg_dump", [...pgArgs(source), "-Fd", "-j", "2", "-f", dir], pgEnv(source));
      const dump = (Date.now() - t) / 1000;
      await sql(server, `CREATE DATABASE ${db}`);
      await run("pg_restore", [...pgArgs(server, db), "-j", "2", dir], pgEnv(server));
      const seconds = (Date.now() - t) / 1000;
      rmSync(dir, { recursive: true, force: true });
      return { seconds, phases: `dump ${dump.toFixed(1)}s, restore ${(seconds - dump).toFixed(1)}s` };
    },
  }),
  pgcopydb: (jobs) => ({
    name: `pgcopydb clone --table-jobs ${jobs} --index-jobs ${jobs}`,
    async run(source, server, db, work) {
      const dir = path.join(work, "pgcopydb");
      const t = Date.now();
      await sql(server, `CREATE DATABASE ${db}`);
      await run(
        "pgcopydb",
        [
          "clone",
          "--source",
          source,
          "--target",
          dbUrl(server, db),
          "--dir",
          dir,
          "--table-jobs",
          String(jobs),
          "--index-jobs",
          String(jobs),
        ],
        { ...process.env, PGCOPYDB_LOG_LEVEL: "warn" },
      );
      const seconds = (Date.now() - t) / 1000;
      rmSync(dir, { recursive: true, force: true });
      return { seconds };
    },
  }),
  ours: (jobs) => ({
    name: `ours db-migrate (verified) jobs ${jobs}`,
    async run(source, server, db) {
      const { seconds, stdout } = await run(
        process.execPath,
        [
          path.join(root, "dist/db-migrate.js"),
          "--from",
          "env:BENCH_FROM",
          "--to",
          "env:BENCH_TO",
          "--jobs",
          String(jobs),
          "--json",
        ],
        { ...process.env, BENCH_FROM: source, BENCH_TO: dbUrl(server, db) },
      );
      const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
        mismatches: string[];
        phases: { marks: Record<string, number>; busy: Record<string, number>; tail: string[] };
      };
      if (result.mismatches.length > 0) throw new Error(`ours: mismatches ${result.mismatches.join("; ")}`);
      const marks = Object.entries(result.phases.marks)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", ");
      const busy = Object.entries(result.phases.busy)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", ");
      return {
        seconds,
        phases: `marks (s): ${marks}; worker-s: ${busy}; last tasks: ${result.phases.tail.join(", ")}`,
      };
    },
  }),
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: valueFlags("sizes", "rounds", "jobs", "methods") });
  const sizes = (values.sizes ?? "tiny,100mb,1gib").split(",");
  const rounds = Number(values.rounds ?? "3");
  const jobList = (values.jobs ?? "2,4").split(",").map(Number);
  const chosen = (values.methods ?? "seed,fd-j2,pgcopydb,ours").split(",");
  const lineup: Array<{ key: string; method: Method }> = [];
  for (const key of chosen) {
    if (key === "ours") for (const j of jobList) lineup.push({ key: `ours-j${j}`, method: methods.ours(j) });
    else if (key === "pgcopydb")
      for (const j of jobList) lineup.push({ key: `pgcopydb-j${j}`, method: methods.pgcopydb(j) });
    else lineup.push({ key, method: methods[key](0) });
  }
  const table: Array<{
    size: string;
    bytes: number;
    medians: Record<string, number>;
    cpu: Record<string, number>;
    load: number;
  }> = [];
  await withBenchClusters("bench-db-", async ({ source, target, work }) => {
    const postmasters = await Promise.all([postmasterPid(source.url), postmasterPid(target.url)]);
    // [the method's own processes, both servers' backends]
    const cpuNow = () => [
      cpuSeconds("self", true, false),
      postmasters.reduce((sum, pid) => sum + cpuSeconds(pid, true), 0),
    ];
    console.log(
      `${os.cpus().length} cores; methods: ${lineup.map((l) => l.key).join(", ")}; ${rounds} interleaved rounds`,
    );
    for (const size of sizes) {
      const db = `src_${size}`;
      await sql(source.url, `CREATE DATABASE ${db}`);
      const t = Date.now();
      await fill(dbUrl(source.url, db), size);
      const bytes = Number(await sql(dbUrl(source.url, db), "SELECT pg_database_size(current_database())"));
      console.log(
        `\n== ${size}: source ${formatBytes(bytes)} (filled in ${((Date.now() - t) / 1000).toFixed(0)}s)`,
      );
      const times: Record<string, number[]> = {};
      const cpus: Record<string, number[]> = {};
      const loads: number[] = [];
      for (let round = 0; round < rounds; round++) {
        // Rotate the order each round: no method always runs first (cold) or last.
        const order = lineup.map((_, i) => lineup[(i + round) % lineup.length]);
        for (const { key, method } of order) {
          const targetDb = `t_${key.replace(/-/g, "_")}_${round}`;
          const loadBefore = os.loadavg()[0];
          const cpuBefore = cpuNow();
          const result = await method.run(dbUrl(source.url, db), target.url, targetDb, work);
          const cpuAfter = cpuNow();
          const [tool, backends] = [cpuAfter[0] - cpuBefore[0], cpuAfter[1] - cpuBefore[1]];
          const cpu = tool + backends;
          const load = (loadBefore + os.loadavg()[0]) / 2;
          loads.push(load);
          (times[key] ??= []).push(result.seconds);
          (cpus[key] ??= []).push(cpu);
          console.log(
            `round ${round + 1} ${key.padEnd(11)} ${result.seconds.toFixed(2).padStart(7)}s  cpu ${cpu.toFixed(1).padStart(6)}s (tool ${tool.toFixed(1)}, servers ${backends.toFixed(1)})  load ${load.toFixed(1)}  ${result.phases ?? ""}`,
          );
          await sql(target.url, `DROP DATABASE ${targetDb} WITH (FORCE)`);
          await sql(target.url, "CHECKPOINT");
        }
      }
      const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      const cpu = Object.fromEntries(Object.entries(cpus).map(([k, v]) => [k, median(v)]));
      table.push({ size, bytes, medians, cpu, load: loads.reduce((a, b) => a + b, 0) / loads.length });
      await sql(source.url, `DROP DATABASE ${db} WITH (FORCE)`);
    }
    const ratio = (row: (typeof table)[number], a: string, b: string) =>
      row.medians[a] && row.medians[b] ? `${(row.medians[a] / row.medians[b]).toFixed(2)}x` : "-";
    console.log("\nwall seconds, median of the rounds");
    console.log(
      `| size | ${lineup.map((l) => l.key).join(" | ")} | seed / ours-j2 | pgcopydb-j2 / ours-j2 | pgcopydb-j4 / ours-j4 | pgcopydb-j4 / ours-j2 | mean load (1 min) |`,
    );
    console.log(`|------|${lineup.map(() => "------").join("|")}|------|------|------|------|------|`);
    for (const row of table) {
      const cells = lineup.map((l) => `${row.medians[l.key]?.toFixed(2)} s`);
      console.log(
        `| ${row.size} (${formatBytes(row.bytes)}) | ${cells.join(" | ")} | ${ratio(row, "seed", "ours-j2")} | ${ratio(row, "pgcopydb-j2", "ours-j2")} | ${ratio(row, "pgcopydb-j4", "ours-j4")} | ${ratio(row, "pgcopydb-j4", "ours-j2")} | ${row.load.toFixed(1)} |`,
      );
    }
    console.log("\nCPU seconds (the method's processes and both servers' backends), median of the rounds");
    console.log(`| size | ${lineup.map((l) => l.key).join(" | ")} |`);
    console.log(`|------|${lineup.map(() => "------").join("|")}|`);
    for (const row of table) {
      console.log(`| ${row.size} | ${lineup.map((l) => `${row.cpu[l.key]?.toFixed(1)} s`).join(" | ")} |`);
    }
  });
}

runBenchmark(main);
