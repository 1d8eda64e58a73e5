import { describe, expect, it } from "vitest";
import { formatDuration, heldJobsSentence, heldJobsText, type HeldJobs } from "./heldJobs";

const NOW = 1_800_000_000_000;
const issueWindow: HeldJobs = {
  queued: 0,
  scheduled: 2,
  nextScheduledAt: NOW + (2 * 3600 - 60) * 1000,
  retries: 1,
  dead: 1,
};

describe("the held-jobs sentence", () => {
  it("says the issue's window the way the issue asks", () => {
    expect(heldJobsSentence(issueWindow, "carry", NOW)).toBe(
      "2 scheduled for later (next due in 1h59m), 1 retry, 1 dead: carried to the new Redis at the switch",
    );
    expect(heldJobsSentence(issueWindow, "discarded", NOW)).toBe(
      "2 scheduled for later (next due in 1h59m), 1 retry, 1 dead: left behind in the old Redis (sidekiq.onRedisSwitch: discard)",
    );
    expect(heldJobsSentence(issueWindow, "stay", NOW)).toMatch(/1 dead: stay in this Redis$/);
    expect(heldJobsSentence(issueWindow, "none", NOW)).toBe(
      "2 scheduled for later (next due in 1h59m), 1 retry, 1 dead",
    );
  });

  it("counts queued jobs, plurals, zeros, overdue jobs and retries' next attempt", () => {
    expect(
      heldJobsText(
        {
          queued: 3,
          scheduled: 1,
          nextScheduledAt: NOW - 300_000,
          retries: 2,
          nextRetryAt: NOW + 86_400_000 * 6.5,
          dead: 0,
        },
        NOW,
      ),
    ).toBe(
      "3 queued, 1 scheduled for later (next due 5m00s ago), 2 retries (next attempt in 6d12h), no dead jobs",
    );
    expect(heldJobsText({ queued: 0, scheduled: 0, retries: 0, dead: 3 }, NOW)).toBe(
      "none scheduled, no retries, 3 dead",
    );
    const none = { queued: 0, scheduled: 0, retries: 0, dead: 0 };
    expect(heldJobsSentence(none, "carry", NOW)).toBe(
      "no scheduled, retrying or dead jobs: nothing to carry",
    );
    expect(heldJobsSentence(none, "stay", NOW)).toBe("no scheduled, retrying or dead jobs");
  });

  it("formats durations with two units at most", () => {
    expect([0, 42, 60, 725, 3600, 7140, 86_399, 86_400, 7 * 86_400 - 1].map(formatDuration)).toEqual([
      "0s",
      "42s",
      "1m00s",
      "12m05s",
      "1h00m",
      "1h59m",
      "23h59m",
      "1d00h",
      "6d23h",
    ]);
  });
});
