/**
 * A Redis move with a real Sidekiq 6.4 (Debian's ruby-sidekiq) on both sides: jobs are made by
 * Sidekiq itself on the old Redis (a `perform_in(30)` and a failed job waiting for its retry),
 * Sidekiq is stopped as the shutdown stops it, the gate carries, and a Sidekiq started on the
 * new Redis runs each job exactly once, at its time and not before.
 */
import Redis from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { startRedis, TEST_REDIS_USER_PASSWORD, type RunningServer } from "../../testkit/servers/localServers";
import { redisState } from "../../testkit/redisState";
import {
  pushJobs,
  rubyReport,
  startSidekiq,
  waitUntil,
  type SidekiqServer,
} from "../../testkit/servers/sidekiq";
import { silentReporter } from "../progress";
import { runCarryGate } from "./carryGate";

const servers: RunningServer[] = [];
const sidekiqs: SidekiqServer[] = [];
let oldUrl: string;
let newUrl: string;

beforeAll(async () => {
  const old = await startRedis();
  const neu = await startRedis({ password: "new-side-pw" });
  servers.push(old, neu);
  oldUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${new URL(old.url).port}/0`;
  newUrl = `${neu.url}/0`;
});
afterEach(async () => {
  await Promise.all(sidekiqs.splice(0).map((s) => s.stop()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

it("runs a perform_in(30) job and a retry exactly once, on the new Redis, at their time", async () => {
  const old = new Redis(oldUrl);
  const neu = new Redis(newUrl);
  try {
    sidekiqs.push(await startSidekiq({ redisUrl: oldUrl, shutdownTimeoutSeconds: 1 }));
    // A job that fails now; its retry comes 15-24 s later (Sidekiq adds up to 9 s of jitter),
    // after the window, and succeeds then.
    const succeedAt = Date.now() / 1000 + 15;
    const [flaky] = await pushJobs(oldUrl, "FlakyJob", [succeedAt, 15]);
    await waitUntil("the failed job in the retry set", async () => (await rubyReport(oldUrl)).retries === 1);
    const [scheduled] = await pushJobs(oldUrl, "SleepJob", [0], { in: 30 });
    const [, dueAt] = await old.zrange("schedule", 0, 0, "WITHSCORES");
    const [, retryAt] = await old.zrange("retry", 0, 0, "WITHSCORES");

    // The shutdown: Sidekiq stops, the gate carries.
    await sidekiqs.pop()!.stop();
    const before = await redisState(oldUrl);
    const out = await runCarryGate(
      { fromUrl: oldUrl, toUrl: newUrl, namespace: "", mode: "carry", trigger: "run-1" },
      silentReporter,
    );
    expect(out).toMatchObject({
      outcome: "carried",
      carried: { scheduled: 1, retries: 1, dead: 0, queued: 0 },
    });
    expect(out.summary).toMatch(
      /^1 scheduled for later \(next due in \d+s\), 1 retry \(next attempt in \d+s\), no dead jobs: carried to the new Redis$/,
    );
    expect(Date.now() / 1000).toBeLessThan(Number(retryAt));

    // The startup, on the new Redis.
    sidekiqs.push(await startSidekiq({ redisUrl: newUrl, shutdownTimeoutSeconds: 1 }));
    await waitUntil(
      "both jobs done on the new Redis",
      async () => {
        const done = (await rubyReport(newUrl)).jids.done;
        return done.includes(flaky) && done.includes(scheduled);
      },
      60_000,
    );
    const report = await rubyReport(newUrl);
    expect(report.jids.done.filter((j) => j === scheduled)).toHaveLength(1);
    expect(report.jids.done.filter((j) => j === flaky)).toHaveLength(1);
    // At their time, not before: Sidekiq enqueues a job once its score is due.
    expect(report.doneAt[scheduled]).toBeGreaterThanOrEqual(Number(dueAt));
    expect(report.doneAt[flaky]).toBeGreaterThanOrEqual(Number(retryAt));
    expect(report).toMatchObject({ scheduled: 0, retries: 0, dead: 0 });
    // Nothing ran on the old Redis after the stop, and it still holds both jobs: a rollback loses nothing.
    const oldReport = await rubyReport(oldUrl);
    expect(oldReport.jids.done).toEqual([]);
    expect(oldReport.jids.scheduled).toEqual([scheduled]);
    expect(oldReport.jids.retry).toEqual([flaky]);
    expect(await redisState(oldUrl)).toEqual(before);
  } finally {
    old.disconnect();
    neu.disconnect();
  }
}, 120_000);
