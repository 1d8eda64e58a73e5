/**
 * Benchmark: wall time the carry of Sidekiq's state to a new Redis adds to a shutdown, with
 * 100,000 scheduled jobs (plus retries, dead jobs and a few queued ones), against the peer
 * method Sidekiq's maintainer advises (sidekiq/sidekiq#3900: `MIGRATE host port "" db
 * timeout COPY AUTH pw KEYS schedule retry dead queue:...`, run on the old Redis), in the same
 * run, on the same two real redis-server processes. The seed's method is to do nothing: the
 * runbook calls Redis transient, so every one of these jobs is dropped at the switch (0 s).
 *
 *   npx tsx bench/redis-carry.ts [--scheduled 100000] [--retries 2000] [--dead 1000] [--rounds 3]
 *
 * Every round starts from an empty new Redis and runs, in a rotated order:
 *  - ours: `carrySidekiqJobs` as the gate runs it in the window (survey of Sidekiq's named keys,
 *    copy, then verification of every key on both sides): DUMP/RESTORE for keys the new
 *    Redis lacks (the default), and entry by entry (ZADD/RPUSH in MULTI, the fallback when the
 *    new server cannot read the old one's DUMP format);
 *  - MIGRATE COPY: one command, no verification, no namespace, refuses (BUSYKEY) when a key
 *    exists on the target; also timed followed by our verification, for a like-for-like.
 * and then ours again on the already carried data (a rerun: verify only), and the read-only
 * pre-check, which runs before the first stop (so not in the window) and SCANs every key.
 */
import Redis from "ioredis";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { carrySidekiqJobs, digestKey, precheckCarry, sameDump } from "../lib/sidekiq/carry";
import { silentReporter } from "../lib/progress";
import { startRedis, type RunningServer } from "../testkit/servers/localServers";

const { values } = parseArgs({
  options: {
    scheduled: { type: "string", default: "100000" },
    retries: { type: "string", default: "2000" },
    dead: { type: "string", default: "1000" },
    queued: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    "cache-keys": { type: "string", default: "0" },
  },
});
const SCHEDULED = Number(values.scheduled);
const RETRIES = Number(values.retries);
const DEAD = Number(values.dead);
const QUEUED = Number(values.queued);
const ROUNDS = Number(values.rounds);
const CACHE_KEYS = Number(values["cache-keys"]);
const NEW_PASSWORD = "bench-new-secret";

/** A Sidekiq 7 job as the client stores it; Tines' jobs carry ids, not bodies (about 400 bytes). */
function job(queue: string, now: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    retry: true,
    queue,
    class: "Agents::ReceiveEventJob",
    args: [{ event_id: Math.floor(Math.random() * 1e9), agent_id: 4211, story_run_guid: randomUUID() }],
    jid: randomBytes(12).toString("hex"),
    created_at: now / 1000,
    tags: ["tenant:acme"],
    cattr_tenant: { id: 17, guid: randomUUID() },
    ...extra,
  });
}

async function seed(redis: Redis): Promise<void> {
  const now = Date.now();
  const zfill = async (
    key: string,
    n: number,
    at: (i: number) => number,
    extra: (i: number) => Record<string, unknown>,
  ) => {
    for (let start = 0; start < n; start += 5000) {
      const args: Array<string | number> = [];
      for (let i = start; i < Math.min(n, start + 5000); i++)
        args.push(at(i) / 1000, job("default", now, extra(i)));
      await redis.zadd(key, ...args);
    }
  };
  // Delay actions up to 7 days ahead; retries up to about 3 weeks; dead jobs over 6 months.
  await zfill(
    "schedule",
    SCHEDULED,
    () => now + Math.random() * 7 * 86_400_000,
    () => ({}),
  );
  await zfill(
    "retry",
    RETRIES,
    () => now + Math.random() * 21 * 86_400_000,
    (i) => ({
      retry_count: i % 25,
      error_message: "Net::ReadTimeout with #<TCPSocket:(closed)>",
      error_class: "Net::ReadTimeout",
      failed_at: now / 1000 - 3600,
    }),
  );
  await zfill(
    "dead",
    DEAD,
    () => now - Math.random() * 180 * 86_400_000,
    () => ({
      retry_count: 25,
      error_message: "boom",
      error_class: "RuntimeError",
    }),
  );
  await redis.sadd("queues", "default", "mailers");
  if (QUEUED > 0)
    await redis.lpush("queue:default", ...Array.from({ length: QUEUED }, () => job("default", now)));
  await redis.set("stat:processed", "123456");
  for (let start = 0; start < CACHE_KEYS; start += 10_000) {
    const pipe = redis.pipeline();
    for (let i = start; i < Math.min(CACHE_KEYS, start + 10_000); i++)
      pipe.set(`cache:views/${i}`, "x".repeat(64));
    await pipe.exec();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of this process (the client: our carry runs here). */
const ownCpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function main(): Promise<void> {
  const servers: RunningServer[] = [];
  // No server outlives the bench: not on Ctrl-C, nor when `| head` closes stdout (EPIPE).
  const killAll = () => servers.forEach((s) => s.killNow?.());
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  process.stdout.on("error", () => {
    killAll();
    process.exit(1);
  });
  try {
    const old = await startRedis();
    servers.push(old);
    const neu = await startRedis({ password: NEW_PASSWORD });
    servers.push(neu);
    const oldRedis = new Redis(old.url);
    const newRedis = new Redis(neu.url);
    const newPort = new URL(neu.url).port;
    await seed(oldRedis);
    const info = await oldRedis.info("memory");
    const used = /used_memory_human:(\S+)/.exec(info)?.[1];
    const version = /redis_version:(\S+)/.exec(await oldRedis.info("server"))?.[1];
    process.stdout.write(
      `${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}, ` +
        `nice ${os.getPriority()}; redis-server ${version}; old Redis: ${SCHEDULED} scheduled, ${RETRIES} retries, ${DEAD} dead, ` +
        `${QUEUED} queued, ${CACHE_KEYS} unrelated keys (${used} used); new Redis needs a password\n`,
    );
    const keys = ["schedule", "retry", "dead", "queues", ...(QUEUED > 0 ? ["queue:default"] : [])];
    const target = { fromUrl: old.url, toUrl: neu.url };
    // The cheapest sound check after MIGRATE: equal DUMP payloads, else entry by entry.
    const verifyAll = async () => {
      await Promise.all(
        keys.map(async (key) => {
          if (await sameDump(oldRedis, newRedis, key)) return;
          const type = key === "queues" ? "set" : key.startsWith("queue:") ? "list" : "zset";
          const [a, b] = await Promise.all([digestKey(oldRedis, key, type), digestKey(newRedis, key, type)]);
          if (a.sha256 !== b.sha256) throw new Error(`bench: ${key} differs after the copy`);
        }),
      );
    };

    // sidekiq/sidekiq#3900, with the AUTH the thread says it lacks (Redis >= 4.0.7 has it).
    const migrateCopy = () =>
      oldRedis.call(
        "MIGRATE",
        "127.0.0.1",
        newPort,
        "",
        "0",
        "60000",
        "COPY",
        "AUTH",
        NEW_PASSWORD,
        "KEYS",
        ...keys,
      );
    const methods: Record<string, () => Promise<string>> = {
      "ours (DUMP/RESTORE)": async () => {
        const r = await carrySidekiqJobs(target, { reporter: silentReporter, scan: "named" });
        return `survey ${r.seconds.survey}s copy ${r.seconds.copy}s verify ${r.seconds.verify}s (${r.method})`;
      },
      "ours (entry by entry)": async () => {
        const r = await carrySidekiqJobs(target, { reporter: silentReporter, restore: false, scan: "named" });
        return `survey ${r.seconds.survey}s copy ${r.seconds.copy}s verify ${r.seconds.verify}s (${r.method})`;
      },
      "MIGRATE COPY": async () => {
        await migrateCopy();
        return "no verification";
      },
      "MIGRATE COPY + our verification": async () => {
        await migrateCopy();
        const t = performance.now();
        await verifyAll();
        return `verify ${((performance.now() - t) / 1000).toFixed(3)}s`;
      },
    };
    const names = Object.keys(methods);
    const cpuTotals: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const preChecks: number[] = [];
    const times: Record<string, number[]> = Object.fromEntries(
      [...names, "ours, rerun (nothing to copy)"].map((n) => [n, []]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        await newRedis.flushall();
        const cpuBefore = [cpuSeconds(old.pid), cpuSeconds(neu.pid), ownCpuSeconds()];
        const t = performance.now();
        const note = await methods[name]();
        const seconds = (performance.now() - t) / 1000;
        const cpu = [cpuSeconds(old.pid), cpuSeconds(neu.pid), ownCpuSeconds()].map(
          (c, i) => c - cpuBefore[i],
        );
        times[name].push(seconds);
        cpuTotals[name].push(cpu.reduce((a, b) => a + b, 0));
        await verifyAll();
        process.stdout.write(
          `round ${round + 1} ${name}: ${seconds.toFixed(3)} s wall, CPU ${cpu.map((c) => c.toFixed(2)).join(" + ")} s ` +
            `(old Redis + new Redis + client) (${note}; load ${os.loadavg()[0].toFixed(1)})\n`,
        );
      }
      // The data is on the new Redis now (from the last method): a rerun finds it identical.
      const t = performance.now();
      const r = await carrySidekiqJobs(target, { reporter: silentReporter, scan: "named" });
      const seconds = (performance.now() - t) / 1000;
      times["ours, rerun (nothing to copy)"].push(seconds);
      process.stdout.write(
        `round ${round + 1} ours, rerun: ${seconds.toFixed(3)} s (written ${r.written.scheduled} scheduled)\n`,
      );
      // Not in the window: the pre-check, before the first stop, passes over every key.
      await newRedis.flushall();
      const p = performance.now();
      await precheckCarry(target, { reporter: silentReporter });
      const precheck = (performance.now() - p) / 1000;
      preChecks.push(precheck);
      process.stdout.write(
        `round ${round + 1} pre-check (before the first stop): ${precheck.toFixed(3)} s\n`,
      );
    }
    process.stdout.write(`\nmedian of ${ROUNDS} rounds, wall time inside the shutdown:\n`);
    process.stdout.write(
      `  seed (nothing: every job dropped): 0 s, ${SCHEDULED + RETRIES + DEAD + QUEUED} jobs lost\n`,
    );
    process.stdout.write(
      `  not in the window: the pre-check (SCAN of every key, read-only): ${median(preChecks).toFixed(3)} s\n`,
    );
    const migrate = median(times["MIGRATE COPY"]);
    const migrateCpu = median(cpuTotals["MIGRATE COPY"]);
    for (const [name, list] of Object.entries(times)) {
      const m = median(list);
      const cpu = cpuTotals[name] ? median(cpuTotals[name]) : undefined;
      process.stdout.write(
        `  ${name}: ${m.toFixed(3)} s wall (${(m / migrate).toFixed(2)}x MIGRATE COPY)` +
          (cpu === undefined
            ? ""
            : `; ${cpu.toFixed(2)} CPU s in all three processes (${(cpu / migrateCpu).toFixed(2)}x)`) +
          "\n",
      );
    }
    oldRedis.disconnect();
    newRedis.disconnect();
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
