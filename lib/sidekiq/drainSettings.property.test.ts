/**
 * Property tests of the drain settings over the ranges the validation accepts (issue 12,
 * item 3): every accepted combination can pass, and none passes while a job can still be in
 * flight unseen. A simulated Sidekiq process stands in for Redis here (virtual time, so
 * thousands of runs take a second); the same rules are tested against a real Sidekiq 6.4
 * in realSidekiq.test.ts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Clock, ProgressReporter } from "../progress";
import type { ProcessBeat, SidekiqSnapshot } from "./api";
import { drainSettingsIssues, type DrainSettings } from "./config";
import { waitForDrain } from "./drain";

const silent: ProgressReporter = { info: () => undefined, warn: () => undefined };

function fakeClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

/** One Sidekiq process: heartbeats every `period` s plus a jitter, one job fetched at `fetchAt` for `duration` s. */
interface World {
  period: 5 | 10 | undefined;
  phase: number;
  jitters: number[];
  fetchAt: number;
  duration: number;
  queuedAtStart: boolean;
}

function beats(world: World): number[] {
  if (world.period === undefined) return [];
  const times = [world.phase];
  for (let k = 0; times[times.length - 1] < 2100; k++) {
    times.push(times[times.length - 1] + world.period + world.jitters[k % world.jitters.length]);
  }
  return times;
}

/** What Redis holds at virtual time `t` (seconds). */
function snapshotAt(world: World, beatTimes: number[], t: number): SidekiqSnapshot {
  const queued = world.queuedAtStart && t < world.fetchAt ? 1 : 0;
  const processList: ProcessBeat[] = [];
  if (world.period !== undefined) {
    const last = beatTimes.filter((b) => b <= t).pop() ?? world.phase;
    const busy =
      world.queuedAtStart && last >= world.fetchAt && last < world.fetchAt + world.duration ? 1 : 0;
    processList.push({
      identity: "host:1:abc",
      version: world.period === 5 ? undefined : "7.3.0",
      busy,
      beat: last,
      ageSeconds: t - last,
      heartbeatSeconds: world.period,
    });
  }
  const busy = processList.reduce((sum, p) => sum + p.busy, 0);
  return {
    at: t * 1000,
    queues: [{ name: "default", size: queued, latency: 0, paused: false }],
    enqueued: queued,
    scheduled: 0,
    retries: 0,
    dead: 0,
    scheduledDue: 0,
    retriesDue: 0,
    busy,
    processes: processList.length,
    processList,
  };
}

const interval = fc.oneof(
  fc.integer({ min: 1, max: 30 }),
  fc.integer({ min: 1, max: 50 }).map((tenths) => tenths / 10),
);

/** Accepted settings: built inside the ranges, then checked with the validation itself. */
const acceptedSettings = fc
  .record({
    intervalSeconds: interval,
    windowSeconds: fc.integer({ min: 1, max: 600 }),
    settleFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    extraTimeout: fc.integer({ min: 0, max: 300 }),
    maxSize: fc.integer({ min: 0, max: 5 }),
    maxBusy: fc.integer({ min: 0, max: 5 }),
  })
  .map(({ settleFraction, extraTimeout, ...rest }): DrainSettings => {
    const settleSeconds = Math.floor(settleFraction * rest.windowSeconds);
    const minimum = Math.max(settleSeconds, 12) + 2 * rest.intervalSeconds;
    return { ...rest, settleSeconds, timeoutSeconds: Math.ceil(minimum) + extraTimeout };
  });

/** The drain gate run on virtual time against the simulated Sidekiq `world`. */
function drainOn(world: World, settings: DrainSettings) {
  const beatTimes = beats(world);
  const clock = fakeClock();
  return waitForDrain(async () => snapshotAt(world, beatTimes, clock.now() / 1000), settings, silent, {
    clock,
  });
}

const world = fc.record({
  period: fc.constantFrom<5 | 10 | undefined>(5, 10, undefined),
  phase: fc.double({ min: -10, max: 0, noNaN: true }),
  jitters: fc.array(fc.double({ min: 0, max: 1.5, noNaN: true }), { minLength: 1, maxLength: 8 }),
  fetchAt: fc.double({ min: 0, max: 40, noNaN: true }),
  duration: fc.double({ min: 0.1, max: 40, noNaN: true }),
  queuedAtStart: fc.boolean(),
});

describe("drain settings over the accepted ranges", () => {
  it("every accepted combination passes on an idle Sidekiq 6, 7/8, or none", async () => {
    await fc.assert(
      fc.asyncProperty(acceptedSettings, world, async (settings, w) => {
        expect(drainSettingsIssues(settings)).toEqual([]);
        const idle = { ...w, queuedAtStart: false };
        const outcome = await drainOn(idle, settings);
        expect(outcome.passed).toBe(true);
      }),
      { numRuns: 500, seed: 20261130 },
    );
  });

  it("the smallest accepted timeout is enough, and one second less is refused", () => {
    fc.assert(
      fc.property(acceptedSettings, (settings) => {
        const tight = {
          ...settings,
          timeoutSeconds: Math.max(settings.settleSeconds, 12) + 2 * settings.intervalSeconds,
        };
        expect(drainSettingsIssues(tight)).toEqual([]);
        expect(drainSettingsIssues({ ...tight, timeoutSeconds: tight.timeoutSeconds - 1 })).toEqual([
          expect.objectContaining({ path: ["timeoutSeconds"] }),
        ]);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it("no accepted combination passes while a job fetched between heartbeats is still running", async () => {
    await fc.assert(
      fc.asyncProperty(acceptedSettings, world, async (accepted, w) => {
        const settings = { ...accepted, maxSize: 0, maxBusy: 0, timeoutSeconds: 2000 };
        const running = { ...w, period: w.period ?? 5, queuedAtStart: true };
        const outcome = await drainOn(running, settings);
        expect(outcome.finishedAt / 1000).toBeGreaterThanOrEqual(running.fetchAt + running.duration);
      }),
      { numRuns: 500, seed: 12 },
    );
  });
});
