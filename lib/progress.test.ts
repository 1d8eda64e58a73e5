import { describe, expect, it } from "vitest";
import { quietProgress, realClock, type ProgressReporter } from "./progress";

describe("quietProgress", () => {
  it("reports a changed line at once and an unchanged one only every interval", () => {
    let t = 1_000;
    const lines: string[] = [];
    const reporter: ProgressReporter = { info: (m) => lines.push(m), warn: () => undefined };
    const report = quietProgress(reporter, { now: () => t }, 30_000);
    report("a", "a; 60s left");
    t += 10_000;
    report("a", "a; 50s left");
    report("b", "b; 50s left");
    t += 29_999;
    report("b", "b; 20s left");
    t += 1;
    report("b", "b; 20s left (again)");
    expect(lines).toEqual(["a; 60s left", "b; 50s left", "b; 20s left (again)"]);
  });
});

describe("realClock.sleep", () => {
  it("returns at once when aborted, instead of waiting out the interval", async () => {
    const controller = new AbortController();
    const start = Date.now();
    const slept = realClock.sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await slept;
    expect(Date.now() - start).toBeLessThan(2_000);
    await realClock.sleep(30);
    expect(Date.now() - start).toBeGreaterThanOrEqual(45);
  });
});
