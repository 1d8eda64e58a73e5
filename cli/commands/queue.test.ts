import { describe, expect, it } from "vitest";
import { redisDatabasePerFile } from "../../testkit/testScope";
import { freePort, TEST_REDIS_USER_PASSWORD } from "../../testkit/servers/localServers";
import { consume, enqueue, pauseQueue, scheduleJob } from "../../testkit/sidekiqJobs";
import { runCli, type CliRun } from "../../testkit/cliChild";
import { pushJobs, rubyReport, startSidekiq, waitUntil } from "../../testkit/servers/sidekiq";

/** The real dispatcher (`cli/maint.ts`) in a child process, without the caller's REDIS_URL. */
function maint(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onStderr?: (text: string) => void,
): Promise<CliRun> {
  return runCli(args, { env: { REDIS_URL: undefined, ...env }, onStderr });
}

/** `drain-wait` on `redisUrl` with --max-size 0 and the given settings, then `more` as written. */
function drainWait(
  redisUrl: string,
  settings: { interval: string; window: string; timeout: string },
  ...more: string[]
): string[] {
  return [
    ...["drain-wait", "--redis-url", redisUrl, "--interval", settings.interval, "--window", settings.window],
    ...["--max-size", "0", "--timeout", settings.timeout, ...more],
  ];
}

const { url, redis } = redisDatabasePerFile(5);

describe("maint queue (child process, real redis-server)", () => {
  it("prints the per-queue JSON and sets that Sidekiq's own API reports (real Sidekiq 6.4)", async () => {
    const server = await startSidekiq({
      redisUrl: url,
      concurrency: 1,
      queues: ["work"],
      shutdownTimeoutSeconds: 1,
    });
    try {
      await pushJobs(url, "FailJob", [3600], { queue: "work" });
      await pushJobs(url, "SleepJob", [30], { queue: "work" });
      await pushJobs(url, "SleepJob", [1], { queue: "default", count: 3 });
      await pushJobs(url, "SleepJob", [1], { queue: "mailers", count: 2 });
      await pushJobs(url, "SleepJob", [1], { in: 600 });
      await waitUntil("the retry and the busy heartbeat", async () => {
        const r = await rubyReport(url);
        return r.retries === 1 && r.busy === 1;
      });
      const run = await maint(["queue", "--redis-url", url, "--json"]);
      const ruby = await rubyReport(url);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(Object.keys(report.queues[0])).toEqual(["name", "size", "latency", "paused"]);
      expect(
        report.queues.map((q: { name: string; size: number; paused: boolean }) => [q.name, q.size, q.paused]),
      ).toEqual(ruby.queues.map((q) => [q.name, q.size, q.paused]));
      report.queues.forEach((q: { latency: number }, i: number) =>
        expect(Math.abs(q.latency - ruby.queues[i].latency)).toBeLessThan(3),
      );
      const { queues: _q, nextScheduledAt, nextRetryAt, held, ...totals } = report;
      // The jobs no drain empties, with when they are due: scheduled in 600 s, retried in an hour.
      expect(Date.parse(nextScheduledAt) - Date.now()).toBeGreaterThan(500_000);
      expect(Date.parse(nextRetryAt) - Date.now()).toBeGreaterThan(3_000_000);
      expect(held).toMatch(
        /^5 queued, 1 scheduled for later \(next due in (9|10)m\d\ds\), 1 retry \(next attempt in (59m\d\ds|1h0\dm)\), no dead jobs$/,
      );
      expect(totals).toEqual({
        enqueued: ruby.enqueued,
        scheduled: ruby.scheduled,
        retries: ruby.retries,
        dead: ruby.dead,
        busy: ruby.busy,
        processes: ruby.processes,
      });
      expect(totals).toMatchObject({ enqueued: 5, scheduled: 1, retries: 1, busy: 1, processes: 1 });
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("marks a Sidekiq Pro paused queue (Pro only, so written as Pro writes it)", async () => {
    await enqueue(redis, "mailers", 2, { format: "sidekiq8", enqueuedAtMs: Date.now() - 5_000 });
    await pauseQueue(redis, "mailers");
    const report = JSON.parse((await maint(["queue", "--redis-url", url, "--json"])).stdout);
    expect(report.queues).toEqual([{ name: "mailers", size: 2, latency: expect.any(Number), paused: true }]);
  });
  it("prints a table by default and reads a namespace", async () => {
    await enqueue(redis, "default", 4, { namespace: "tines" });
    const run = await maint(["queue", "--redis-url", url, "--namespace", "tines"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^queue\s+size\s+latency \(s\)\s+paused\ndefault\s+4\s+\d+\.\d\d\s+no\n/);
    expect(run.stdout).toMatch(
      /enqueued 4, scheduled 0, retries 0, dead 0, busy 0 \(in 0 live processes\)\n$/,
    );
    // A scheduled job and a dead one: the table says they outlive any drain.
    await scheduleJob(redis, "schedule", Date.now() / 1000 + 7200, "tines");
    await scheduleJob(redis, "dead", Date.now() / 1000 - 60, "tines");
    const held = await maint(["queue", "--redis-url", url, "--namespace", "tines"]);
    expect(held.stdout).toMatch(
      /\nnot emptied by a drain: 1 scheduled for later \(next due in (1h59m|2h00m)\), no retries, 1 dead; they stay in this Redis \(a move to another Redis carries them: maint redis-carry\)\n$/,
    );
  });

  it("warns about a password on the command line", async () => {
    const port = new URL(url).port;
    const run = await maint([
      "queue",
      "--redis-url",
      `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${port}/5`,
      "--json",
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/--redis-url: a password on the command line is visible in the process list/);
    expect(run.stderr).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("takes REDIS_URL from the environment, keeping the password out of the process list", async () => {
    const port = new URL(url).port;
    const run = await maint(["queue", "--json"], {
      REDIS_URL: `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${port}/5`,
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).queues).toEqual([]);
  });

  it("refuses with one line on stderr: missing flag, bad URL, unknown flag, wrong password, unreachable", async () => {
    const port = new URL(url).port;
    const dead = await freePort();
    const cases: Array<[string[], RegExp]> = [
      [["queue"], /^maint queue: --redis-url is required .*or set REDIS_URL\n$/],
      [
        ["queue", "--redis-url", "http://x:6379"],
        /^maint queue: --redis-url must be a redis:\/\/ or rediss:\/\/ URL, got scheme "http"\n$/,
      ],
      [
        ["queue", "--redis-url", url, "--jsn"],
        /^maint queue: Unknown option '--jsn'.*; usage: queue --redis-url URL/,
      ],
      [
        ["queue", "--redis-url", "env:WRONG_PASSWORD_URL"],
        /^maint queue: Redis 127\.0\.0\.1:\d+ db 5: authentication failed \(wrong user or password in the URL\)\n$/,
      ],
      [
        ["queue", "--redis-url", `redis://127.0.0.1:${dead}`],
        /^maint queue: Redis 127\.0\.0\.1:\d+ db 0: connection refused\n$/,
      ],
    ];
    for (const [args, expected] of cases) {
      const run = await maint(args, { WRONG_PASSWORD_URL: `redis://tines:wrong-pw-77@127.0.0.1:${port}/5` });
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr).not.toContain("wrong-pw-77");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stdout).toBe("");
    }
  });
});

describe("maint drain-wait (child process, real redis-server)", () => {
  it("exits 0 quickly for an empty queue, well inside the window", async () => {
    const started = Date.now();
    const run = await maint(
      drainWait(url, { interval: "0.2", window: "30", timeout: "20" }, "--settle", "0.5"),
    );
    expect(run.stderr).toMatch(/^sidekiq: pending 0/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^drained after \d+\.\ds: pending 0, busy 0, quiet for/);
    // Well inside the 30 s window even with tsx start-up on a loaded machine.
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it("passes the README's synopsis with --window 10 on an empty Redis (settle defaults to the window)", async () => {
    const run = await maint(drainWait(url, { interval: "1", window: "10", timeout: "20" }));
    expect(run.stderr).not.toMatch(/did not drain/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^drained after (9|1\d)\.\ds: pending 0, busy 0, quiet for 10s/);
  }, 40_000);

  it("exits 0 once a draining queue reaches the threshold", async () => {
    await enqueue(redis, "default", 20);
    // The pool starts once the command has taken its first sample, however slow tsx starts.
    let consumer: NodeJS.Timeout | undefined;
    const onStderr = (text: string) => {
      if (!consumer && text.includes("sidekiq: pending")) {
        consumer = setInterval(() => void consume(redis, "default", 2), 100);
      }
    };
    try {
      const run = await maint(
        drainWait(url, { interval: "0.2", window: "30", timeout: "30" }, "--settle", "0.5"),
        {},
        onStderr,
      );
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^sidekiq: pending 20 \(queued 20: default=20/);
      expect(run.stderr).toMatch(/sidekiq: passed: pending 0/);
      expect(await redis.llen("queue:default")).toBe(0);
    } finally {
      clearInterval(consumer);
    }
  });

  it("exits 1 with the samples on one line when a queue grows until the timeout", async () => {
    await enqueue(redis, "default", 1);
    const producer = setInterval(() => void enqueue(redis, "default", 1), 150);
    try {
      const run = await maint(
        drainWait(url, { interval: "0.3", window: "30", timeout: "13" }, "--settle", "1"),
      );
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split("\n");
      expect(lines.at(-1)).toMatch(
        /^maint drain-wait: sidekiq: queue did not drain within 13s \(pending \d+ > max size 0\); Sidekiq left running; the gate removed no job; last samples: (\(\d+ earlier\) )?(\d\d:\d\d:\d\d pending \d+ busy 0(, )?)+$/,
      );
      expect(run.stdout).toBe("");
    } finally {
      clearInterval(producer);
    }
  });

  it("refuses bad flags before touching Redis", async () => {
    const dead = await freePort();
    const target = `redis://127.0.0.1:${dead}`;
    const cases: Array<[string[], RegExp]> = [
      [
        ["drain-wait", "--redis-url", target, "--window", "30", "--max-size", "0", "--timeout", "20"],
        /--interval is required/,
      ],
      [
        [
          "drain-wait",
          "--redis-url",
          target,
          "--interval",
          "5",
          "--window",
          "30",
          "--max-size=-1",
          "--timeout",
          "20",
        ],
        /--max-size must be an integer >= 0, got "-1"/,
      ],
      [
        drainWait(target, { interval: "5", window: "10", timeout: "20" }, "--settle", "20"),
        /--settle must be <= --window \(10\)/,
      ],
      [
        drainWait(target, { interval: "5", window: "10", timeout: "15" }),
        /^maint drain-wait: --timeout must be >= 22 \(a settle of 12s, which covers a Sidekiq 7\/8 heartbeat, plus two intervals of 5s\), or the gate could never pass\n$/,
      ],
      [
        drainWait(target, { interval: "5", window: "10", timeout: "20" }, "--namespace", "a b"),
        /--namespace must be/,
      ],
    ];
    for (const [args, expected] of cases) {
      const run = await maint(args);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr).not.toMatch(/connection refused/);
    }
  });
});
