import { describe, expect, it } from "vitest";
import { virtualClock } from "../../testkit/virtualClock";
import { redisDatabasePerFile } from "../../testkit/testScope";
import { freePort } from "../../testkit/servers/localServers";
import { GateError, MaintenanceError } from "../errors";
import type { ProgressReporter } from "../progress";
import { readSnapshot, type ProcessBeat } from "./api";
import type { DrainSettings } from "./config";
import { evaluateWindow, preflightVerdict, samplePreflight, waitForDrain, type DrainSample } from "./drain";
import { checkPreflightInputs, runDrainGate, runPreflight } from "./gate";
import { enqueue, pauseQueue, scheduleJob } from "../../testkit/sidekiqJobs";

const { url, redis } = redisDatabasePerFile(4);

const settings: DrainSettings = {
  intervalSeconds: 5,
  windowSeconds: 120,
  settleSeconds: 15,
  maxSize: 0,
  maxBusy: 0,
  timeoutSeconds: 300,
};

function sample(atSeconds: number, total: number, busy = 0, processes: ProcessBeat[] = []): DrainSample {
  return {
    at: atSeconds * 1000,
    total,
    enqueued: total,
    scheduledDue: 0,
    retriesDue: 0,
    busy,
    pausedWithJobs: [],
    processes,
  };
}

/** A Sidekiq 6 process (5 s heartbeat) whose last heartbeat was at `beat`, seen at `at`. */
function sidekiq6(identity: string, beat: number, at: number, busy = 0): ProcessBeat {
  return { identity, busy, beat, ageSeconds: at - beat, heartbeatSeconds: 5 };
}

/** Where the virtual clock starts: a real epoch time, as Sidekiq's timestamps are. */
const CLOCK_START = 1_800_000_000_000;

function recorder(): ProgressReporter & { lines: string[]; warnings: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  return { lines, warnings, info: (m) => lines.push(m), warn: (m) => warnings.push(m) };
}

describe("evaluateWindow", () => {
  it("passes an empty queue once it has been quiet for settleSeconds, not a whole window", () => {
    expect(evaluateWindow([sample(0, 0)], settings)).toMatchObject({ pass: false, reason: /settling/ });
    expect(evaluateWindow([sample(0, 0), sample(5, 0), sample(10, 0)], settings).pass).toBe(false);
    expect(evaluateWindow([sample(0, 0), sample(5, 0), sample(10, 0), sample(15, 0)], settings).pass).toBe(
      true,
    );
  });

  it("passes with settleSeconds 0 on the first quiet sample", () => {
    expect(evaluateWindow([sample(0, 0)], { ...settings, settleSeconds: 0 }).pass).toBe(true);
  });

  it("refuses while over the threshold, while jobs are in flight, and while increasing", () => {
    expect(evaluateWindow([sample(0, 3)], settings)).toMatchObject({
      pass: false,
      reason: "pending 3 > max size 0",
    });
    expect(evaluateWindow([sample(0, 0, 2)], settings).reason).toMatch(/2 job\(s\) in flight/);
    const limits = { ...settings, maxSize: 10, settleSeconds: 0 };
    expect(evaluateWindow([sample(0, 2), sample(5, 4)], limits)).toMatchObject({
      pass: false,
      reason: /increasing: 2 -> 4/,
    });
    // The rise has left the 120 s window: the queue is steady at 4 <= 10.
    expect(evaluateWindow([sample(0, 2), sample(125, 4)], limits).pass).toBe(true);
  });

  it("counts the quiet run from the last time the queue was above the limits", () => {
    const limits = { ...settings, maxSize: 5 };
    const draining = [sample(0, 50), sample(5, 20), sample(10, 5), sample(15, 3), sample(20, 1)];
    expect(evaluateWindow(draining, limits).pass).toBe(false);
    expect(evaluateWindow([...draining, sample(25, 0)], limits).pass).toBe(true);
  });
});

describe("evaluateWindow and Sidekiq's heartbeat", () => {
  const zeroSettle = { ...settings, settleSeconds: 0 };

  it("raises a settle shorter than the heartbeat of the Sidekiq found to the heartbeat plus 2 s", () => {
    const at = (t: number) => sample(t, 0, 0, [sidekiq6("w:1", t - 1, t)]);
    expect(evaluateWindow([at(0), at(5)], zeroSettle)).toMatchObject({
      pass: false,
      reason: "settling: quiet for 5s of 7s, raised from 0s to cover a 5s Sidekiq heartbeat",
    });
    expect(evaluateWindow([at(0), at(5), at(7)], zeroSettle).pass).toBe(true);
    const sidekiq7 = (t: number) => sample(t, 0, 0, [{ ...sidekiq6("w:1", t - 1, t), heartbeatSeconds: 10 }]);
    expect(evaluateWindow([sidekiq7(0), sidekiq7(11)], zeroSettle).pass).toBe(false);
    expect(evaluateWindow([sidekiq7(0), sidekiq7(12)], zeroSettle).pass).toBe(true);
  });

  it("waits for every live process to write a heartbeat after the queue went quiet", () => {
    const silent = [0, 5, 10].map((t) => sample(t, 0, 0, [sidekiq6("w:1", -1, t)]));
    expect(evaluateWindow(silent, zeroSettle)).toMatchObject({
      pass: false,
      reason: "waiting for a heartbeat since the queue went quiet from w:1 (last one 11s ago)",
    });
    const beating = [...silent, sample(12, 0, 0, [sidekiq6("w:1", 11, 12)])];
    expect(evaluateWindow(beating, zeroSettle).pass).toBe(true);
  });
});

describe("preflightVerdict", () => {
  it("flags a non-zero queue that is not falling and tells the operator to scale Sidekiq up", () => {
    const v = preflightVerdict([sample(0, 40), sample(5, 40), sample(10, 41)], 0);
    expect(v.pass).toBe(false);
    expect(v.reason).toMatch(/non-zero and not falling \(40 -> 40 -> 41 pending.*scale tines-sidekiq up/);
    expect(preflightVerdict([sample(0, 40), sample(10, 12)], 0).pass).toBe(true);
    expect(preflightVerdict([sample(0, 0)], 0).pass).toBe(true);
    expect(preflightVerdict([sample(0, 7)], 0).pass).toBe(false);
  });

  it("names paused queues that hold jobs", () => {
    const s = { ...sample(0, 3), pausedWithJobs: ["mailers"] };
    expect(preflightVerdict([s, s], 0).reason).toMatch(/paused queue\(s\) holding jobs: mailers/);
  });
});

describe("waitForDrain against redis-server", () => {
  const read = () => readSnapshot({ url }, settings.windowSeconds);

  it("passes an already-empty queue after settleSeconds (4 samples), not the seed's 2-5 minutes", async () => {
    const clock = virtualClock(CLOCK_START);
    const progress = recorder();
    const outcome = await waitForDrain(read, settings, progress, { clock });
    expect(outcome.samples.map((s) => s.total)).toEqual([0, 0, 0, 0]);
    expect((outcome.finishedAt - outcome.startedAt) / 1000).toBe(15);
    expect(progress.lines.at(-1)).toMatch(/^sidekiq-drain: passed: pending 0/);
    expect(progress.lines[0]).toMatch(/settling: quiet for 0s of 15s\); 5m00s left$/);
  });

  it("counts a retry due within the window as pending until it has run", async () => {
    await scheduleJob(redis, "retry", Date.now() / 1000 + 60);
    const clock = virtualClock(CLOCK_START);
    let n = 0;
    const reading = async () => {
      const snapshot = await read();
      if (++n === 3) await redis.del("retry");
      return snapshot;
    };
    const outcome = await waitForDrain(reading, settings, recorder(), { clock });
    expect(outcome.samples.map((s) => s.total)).toEqual([1, 1, 1, 0, 0, 0, 0]);
  });

  it("fails a growing queue at the timeout with the samples, leaving Sidekiq running", async () => {
    const clock = virtualClock(CLOCK_START);
    const growing = async () => {
      await enqueue(redis, "default", 3);
      return read();
    };
    const error = await waitForDrain(growing, { ...settings, timeoutSeconds: 30 }, recorder(), {
      clock,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(GateError);
    expect(error.message).toMatch(
      /^sidekiq-drain: queue did not drain within 30s \(pending 21 > max size 0\); Sidekiq left running; the gate removed no job; last samples: 08:00:00 pending 3 busy 0, .*, 08:00:30 pending 21 busy 0$/,
    );
    expect(clock.slept).toHaveLength(6);
  });

  it("fails a stuck (paused) queue and names it", async () => {
    await enqueue(redis, "mailers", 4);
    await pauseQueue(redis, "mailers");
    const clock = virtualClock(CLOCK_START);
    const error = await waitForDrain(read, { ...settings, timeoutSeconds: 20 }, recorder(), { clock }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(GateError);
    expect(error.message).toMatch(/paused queue\(s\) holding jobs: mailers/);
    expect(error.message).toMatch(/pending 4 busy 0, .*pending 4 busy 0/);
  });

  it("lets a steady queue under a non-zero threshold pass (near 0 and not increasing)", async () => {
    await enqueue(redis, "default", 2);
    const outcome = await waitForDrain(read, { ...settings, maxSize: 5 }, recorder(), {
      clock: virtualClock(CLOCK_START),
    });
    expect(outcome.samples.map((s) => s.total)).toEqual([2, 2, 2, 2]);
  });

  it("fails at once with one line when Redis is unreachable", async () => {
    const port = await freePort();
    const unreachable = () => readSnapshot({ url: `redis://127.0.0.1:${port}` }, 120);
    const clock = virtualClock(CLOCK_START);
    const error = await waitForDrain(unreachable, settings, recorder(), { clock }).catch((e) => e);
    expect(error).toBeInstanceOf(MaintenanceError);
    expect(error.message).toMatch(/connection refused/);
    expect(clock.slept).toEqual([]);
  });

  it("survives a read failure after the first sample by restarting the window", async () => {
    const clock = virtualClock(CLOCK_START);
    const progress = recorder();
    let n = 0;
    const flaky = async () => {
      if (++n === 2) throw new MaintenanceError("Redis redis://127.0.0.1:1/: connection refused");
      return read();
    };
    const outcome = await waitForDrain(flaky, settings, progress, { clock });
    expect(progress.warnings).toEqual([
      "sidekiq-drain: read failed: Redis redis://127.0.0.1:1/: connection refused; retrying",
    ]);
    expect((outcome.finishedAt - outcome.startedAt) / 1000).toBe(25);
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    await enqueue(redis, "default", 1);
    const reading = async () => {
      controller.abort();
      return read();
    };
    const error = await waitForDrain(reading, settings, recorder(), {
      clock: virtualClock(CLOCK_START),
      signal: controller.signal,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(GateError);
    expect(error.message).toMatch(/aborted/);
  });
});

describe("samplePreflight against redis-server", () => {
  it("takes samples over the period at the interval", async () => {
    await enqueue(redis, "default", 8);
    const clock = virtualClock(CLOCK_START);
    const samples = await samplePreflight(() => readSnapshot({ url }, 120), 10, 5, recorder(), { clock });
    expect(samples.map((s) => [s.at - samples[0].at, s.total])).toEqual([
      [0, 8],
      [5000, 8],
      [10000, 8],
    ]);
    expect(preflightVerdict(samples, 0).pass).toBe(false);
  });

  it("takes one sample when the period is 0", async () => {
    const samples = await samplePreflight(() => readSnapshot({ url }, 120), 0, 5, recorder(), {
      clock: virtualClock(CLOCK_START),
    });
    expect(samples).toHaveLength(1);
  });
});

describe("what no drain empties, in the gates' last lines and outputs", () => {
  const target = { redisUrl: url, namespace: "", trigger: "run-1" };

  async function seedHeld() {
    const now = Date.now() / 1000;
    await scheduleJob(redis, "schedule", now + 7200);
    await scheduleJob(redis, "schedule", now + 86_400);
    await scheduleJob(redis, "retry", now + 3 * 3600);
    await scheduleJob(redis, "dead", now - 60);
  }

  it("the drain gate's last line and audit: counts with due times, carried at the switch", async () => {
    await seedHeld();
    const progress = recorder();
    const out = await runDrainGate(
      { ...target, ...settings, settleSeconds: 0, redisSwitch: "carry" },
      progress,
      {
        clock: virtualClock(CLOCK_START),
      },
    );
    // Nothing is due within the window, and the line says so without reading like "nothing left".
    expect(progress.lines[0]).toMatch(
      /^sidekiq-drain: passed: pending 0 \(queued 0, due within the window: 0 scheduled, 0 retries\), busy 0;/,
    );
    expect(progress.lines.at(-1)).toMatch(
      /^sidekiq-drain: not emptied by a drain: 2 scheduled for later \(next due in (1h59m|2h00m)\), 1 retry \(next attempt in (2h59m|3h00m)\), 1 dead: carried to the new Redis at the switch$/,
    );
    expect(out.held).toMatchObject({
      queued: 0,
      scheduled: 2,
      retries: 1,
      dead: 1,
      nextScheduledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      summary: expect.stringMatching(/: carried to the new Redis at the switch$/),
    });
  });

  it("the pre-flight's last line: left behind with discard, staying without a Redis move", async () => {
    await seedHeld();
    const preflight = {
      ...target,
      mode: "warn" as const,
      preflightSeconds: 0,
      intervalSeconds: 5,
      windowSeconds: 120,
      maxSize: 0,
    };
    const discard = recorder();
    await runPreflight({ ...preflight, redisSwitch: "discard" }, discard, {
      clock: virtualClock(CLOCK_START),
    });
    expect(discard.lines.at(-1)).toMatch(
      /^sidekiq-preflight: not emptied by a drain: 2 scheduled .*, 1 dead: left behind in the old Redis at the switch \(sidekiq.onRedisSwitch: discard\)$/,
    );
    const stay = recorder();
    const out = await runPreflight(preflight, stay, { clock: virtualClock(CLOCK_START) });
    expect(stay.lines.at(-1)).toMatch(
      /^sidekiq-preflight: not emptied by a drain: 2 scheduled .*, 1 dead: stay in this Redis$/,
    );
    expect(out.held?.summary).toMatch(/stay in this Redis$/);
    expect(checkPreflightInputs({ ...preflight, redisUrl: url, redisSwitch: "move" })).toEqual([
      { property: "redisSwitch", reason: "must be one of: carry, discard" },
    ]);
  });
});
