/**
 * Benchmark: time from the Sidekiq queue reaching zero to the gate letting the shutdown go
 * on, for our drain gate versus the seed's method (sample the queue repeatedly over a fixed
 * window, 2 minutes at least, and proceed when the window ends near 0 and not increasing).
 * Both run against the same real redis-server in the same run, while a simulated Sidekiq
 * pool pops jobs and writes heartbeats (busy count) as Sidekiq does.
 *
 *   npx tsx bench/sidekiq-drain.ts [--scale 0.05] [--runs 3] [--jobs 400]
 *
 * --scale shrinks every duration (seed window, our interval and settle time, Sidekiq's
 * 10 s heartbeat, the drain rate) by the same factor for a quick run; numbers are printed
 * both as measured and converted back to real seconds. --scale 1 is the real-time run.
 */
import Redis from "ioredis";
import { parseArgs } from "node:util";
import { readSnapshot } from "../lib/sidekiq/api";
import { SIDEKIQ_DEFAULTS, type DrainSettings } from "../lib/sidekiq/config";
import { waitForDrain } from "../lib/sidekiq/drain";
import { silentReporter } from "../lib/progress";
import { enqueue, heartbeat } from "../testkit/sidekiqJobs";
import { startRedis } from "../testkit/servers/localServers";

const { values } = parseArgs({
  options: {
    scale: { type: "string", default: "0.05" },
    runs: { type: "string", default: "3" },
    jobs: { type: "string", default: "400" },
  },
});
const scale = Number(values.scale);
const runs = Number(values.runs);
const jobs = Number(values.jobs);
if (!(scale > 0 && scale <= 1) || !(runs >= 1) || !(jobs >= 1)) {
  process.stderr.write("usage: --scale in (0, 1], --runs >= 1, --jobs >= 1\n");
  process.exit(2);
}

/** The seed: "run this command multiple times over a 2-5 minute window"; we take its minimum. */
const SEED_WINDOW_S = 120;
/** The seed gives no sampling rate; an operator re-running a rails runner every 15 s is generous. */
const SEED_INTERVAL_S = 15;
/** Sidekiq's launcher heartbeat period: how often `busy` is refreshed. */
const HEARTBEAT_S = 10;
/** Simulated pool: jobs per (real) second while the queue drains. */
const DRAIN_RATE = 20;
const CONCURRENCY = 10;

const ours: DrainSettings = {
  intervalSeconds: SIDEKIQ_DEFAULTS.intervalSeconds * scale,
  windowSeconds: SIDEKIQ_DEFAULTS.windowSeconds * scale,
  settleSeconds: SIDEKIQ_DEFAULTS.settleSeconds * scale,
  maxSize: 0,
  maxBusy: 0,
  timeoutSeconds: 3600 * scale,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The seed's method, mechanised: fixed windows of samples; proceed when one ends near 0 and not increasing. */
async function seedMethod(url: string, started: number): Promise<number> {
  for (;;) {
    const windowStart = Date.now();
    const sizes: number[] = [];
    for (;;) {
      sizes.push((await readSnapshot({ url }, 0)).enqueued);
      if (Date.now() - windowStart >= SEED_WINDOW_S * scale * 1000) break;
      await sleep(SEED_INTERVAL_S * scale * 1000);
    }
    const last = sizes[sizes.length - 1];
    if (last <= 0 && last <= sizes[0]) return Date.now() - started;
  }
}

/** A Sidekiq pool: pops jobs at DRAIN_RATE and reports `busy` in a heartbeat every HEARTBEAT_S. */
function runPool(redis: Redis, started: number) {
  let zeroAt: number | undefined;
  let busy = 0;
  let stopped = false;
  const tickMs = 20;
  let credit = 0;
  const pop = async () => {
    while (!stopped) {
      credit += (DRAIN_RATE / scale) * (tickMs / 1000);
      const n = Math.floor(credit);
      credit -= n;
      let taken = 0;
      for (let i = 0; i < n; i++) if ((await redis.rpop("queue:default")) !== null) taken += 1;
      const left = await redis.llen("queue:default");
      busy = left > 0 || taken > 0 ? Math.min(CONCURRENCY, left + taken) : 0;
      if (left === 0 && zeroAt === undefined) zeroAt = Date.now() - started;
      await sleep(tickMs);
    }
  };
  const beat = async () => {
    while (!stopped) {
      await heartbeat(redis, "bench-host:1:pool", busy);
      await sleep(HEARTBEAT_S * scale * 1000);
    }
  };
  const done = Promise.all([pop(), beat()]);
  return {
    zeroAt: () => zeroAt,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

interface Result {
  scenario: string;
  zeroAt: number;
  oursAfterZero: number;
  seedAfterZero: number;
}

async function scenario(url: string, redis: Redis, name: string, count: number): Promise<Result> {
  await redis.flushdb();
  await enqueue(redis, "default", count);
  const started = Date.now();
  const pool = runPool(redis, started);
  const [oursAt, seedAt] = await Promise.all([
    waitForDrain(() => readSnapshot({ url }, ours.windowSeconds), ours, silentReporter).then(
      (o) => o.finishedAt - started,
    ),
    seedMethod(url, started),
  ]);
  await pool.stop();
  const zeroAt = pool.zeroAt() ?? 0;
  return { scenario: name, zeroAt, oursAfterZero: oursAt - zeroAt, seedAfterZero: seedAt - zeroAt };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
const real = (ms: number) => `${(ms / 1000 / scale).toFixed(1)}s`;

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    process.stdout.write(
      `sidekiq drain gate vs the seed's fixed sampling window (scale ${scale}: ` +
        `seed window ${SEED_WINDOW_S}s every ${SEED_INTERVAL_S}s; ours interval ${SIDEKIQ_DEFAULTS.intervalSeconds}s, ` +
        `settle ${SIDEKIQ_DEFAULTS.settleSeconds}s; heartbeat ${HEARTBEAT_S}s; pool ${DRAIN_RATE} jobs/s)\n`,
    );
    for (const [name, count] of [
      ["already empty", 0],
      [`draining ${jobs} jobs`, jobs],
    ] as const) {
      const results: Result[] = [];
      for (let i = 0; i < runs; i++) results.push(await scenario(server.url, redis, name, count));
      const ourMs = median(results.map((r) => r.oursAfterZero));
      const seedMs = median(results.map((r) => r.seedAfterZero));
      process.stdout.write(
        `${name.padEnd(22)} queue at 0 after ${fmt(median(results.map((r) => r.zeroAt)))}; ` +
          `gate passes ${fmt(ourMs)} later (real ${real(ourMs)}), seed ${fmt(seedMs)} later (real ${real(seedMs)}); ` +
          `seed/ours = ${(seedMs / Math.max(ourMs, 1)).toFixed(1)}x  [median of ${runs}]\n`,
      );
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
