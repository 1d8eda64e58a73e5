import { describe, expect, it } from "vitest";
import { escapeHtml, formatBytes, renderWindowHtml } from "./html";
import {
  blankSecrets,
  findWindows,
  parseDeployment,
  SECRET,
  selectWindow,
  updateView,
  windowView,
  type HistoryEntry,
} from "./window";

const secret = (ciphertext: string) => ({
  "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  ciphertext,
});

function entry(version: number, phase: string, startTime: string, message = ""): HistoryEntry {
  return {
    version,
    kind: "update",
    startTime,
    message,
    result: "succeeded",
    config: { "tines-maintenance:phase": { value: phase, secret: false } },
  };
}

const urn = (type: string, name: string) => `urn:pulumi:s::tines-maintenance::${type}::${name}`;
const dynamic = (name: string, outputs: Record<string, unknown>) => ({
  urn: urn("tines-maintenance:index:X$pulumi-nodejs:dynamic:Resource", name),
  type: "pulumi-nodejs:dynamic:Resource",
  outputs,
});

describe("window report model", () => {
  it("blanks every secret value, however deep", () => {
    expect(blankSecrets({ a: [1, { b: secret("xyz") }], c: secret("q") })).toEqual({
      a: [1, { b: SECRET }],
      c: SECRET,
    });
  });

  it("pairs each running update with the last shutdown before it; a lone shutdown is an open window", () => {
    const history = [
      entry(1, "running", "2026-01-01T00:00:00Z"),
      entry(2, "shutdown", "2026-01-02T00:00:00Z"),
      entry(3, "shutdown", "2026-01-02T00:10:00Z"),
      { ...entry(4, "running", "2026-01-02T01:00:00Z"), kind: "refresh" },
      entry(5, "running", "2026-01-02T02:00:00Z"),
      entry(6, "shutdown", "2026-01-03T00:00:00Z"),
    ];
    const windows = findWindows(history);
    expect(windows.map((w) => [w.shutdown.version, w.startup?.version])).toEqual([
      [3, 5],
      [6, undefined],
    ]);
    expect(selectWindow(history).shutdown.version).toBe(6);
    expect(() => selectWindow(history, 2)).toThrow(
      "--window 2: no shutdown update with that version; allowed: 3, 6",
    );
    expect(() => selectWindow([entry(1, "running", "2026-01-01T00:00:00Z")])).toThrow(
      "no maintenance window in this stack's history",
    );
  });

  it("takes steps in the program's order with their times; a step older than its update did not run in it", () => {
    const deployment = parseDeployment({
      version: 3,
      deployment: {
        resources: [
          {
            urn: urn("pulumi:pulumi:Stack", "tines-maintenance-s"),
            type: "pulumi:pulumi:Stack",
            outputs: {
              steps: ["tines-app", "sidekiq-drain", "tines-sidekiq"],
              services: [
                { name: "tines-app", targetCount: 0, previousCount: 2, reachedCount: 0 },
                { name: "tines-sidekiq", targetCount: 0, previousCount: 3, reachedCount: 0 },
              ],
              audit: {
                sidekiqDrain: {
                  outcome: "passed",
                  samples: [{ at: "2026-01-02T00:00:05Z", pending: 4, busy: 1 }],
                },
              },
            },
          },
          dynamic("tines-sidekiq", { startedAt: "2026-01-02T00:00:09Z", finishedAt: "2026-01-02T00:00:12Z" }),
          dynamic("sidekiq-drain", {
            startedAt: "2026-01-02T00:00:04Z",
            finishedAt: "2026-01-02T00:00:09Z",
            redis: secret("r"),
          }),
          dynamic("tines-app", { startedAt: "2026-01-01T00:00:01Z", finishedAt: "2026-01-01T00:00:03Z" }),
        ],
      },
    });
    const view = updateView(entry(7, "shutdown", "2026-01-02T00:00:00Z", "CHG-1 (alice)"), deployment);
    expect(view.steps.map((s) => [s.name, s.kind, s.action, s.unchanged])).toEqual([
      ["tines-app", "service", "scale to 0", true],
      ["sidekiq-drain", "gate", "gate", false],
      ["tines-sidekiq", "service", "scale to 0", false],
    ]);
    expect(view.gates["sidekiq-drain"].redis).toBe(SECRET);
    const window = windowView("s", view);
    expect(window.downtime).toMatchObject({ from: "2026-01-02T00:00:09Z", untilSource: "open" });
    expect(window.drainSamples).toEqual([{ at: "2026-01-02T00:00:05Z", pending: 4, busy: 1 }]);
  });

  it("ends the downtime at Tines' health time when the startup recorded one, else at the last service ready", () => {
    const shutdown = updateView(
      entry(1, "shutdown", "2026-01-02T00:00:00Z"),
      parseDeployment({
        deployment: {
          resources: [
            {
              urn: urn("pulumi:pulumi:Stack", "x"),
              type: "pulumi:pulumi:Stack",
              outputs: { steps: ["tines-app"], services: [{ name: "tines-app", targetCount: 0 }] },
            },
            dynamic("tines-app", { startedAt: "2026-01-02T00:00:10Z", finishedAt: "2026-01-02T00:00:20Z" }),
          ],
        },
      }),
    );
    const startupOutputs = (audit: Record<string, unknown>) =>
      parseDeployment({
        deployment: {
          resources: [
            {
              urn: urn("pulumi:pulumi:Stack", "x"),
              type: "pulumi:pulumi:Stack",
              outputs: { steps: ["tines-app"], services: [{ name: "tines-app", targetCount: 2 }], audit },
            },
            dynamic("tines-app-rollout", {
              startedAt: "2026-01-02T01:00:00Z",
              finishedAt: "2026-01-02T01:00:30Z",
            }),
          ],
        },
      });
    const ready = windowView(
      "s",
      shutdown,
      updateView(entry(2, "running", "2026-01-02T01:00:00Z"), startupOutputs({})),
    );
    expect(ready.downtime).toEqual({
      from: "2026-01-02T00:00:10Z",
      until: "2026-01-02T01:00:30Z",
      untilSource: "last-service-ready",
      seconds: 3620,
    });
    const healthy = windowView(
      "s",
      shutdown,
      updateView(
        entry(2, "running", "2026-01-02T01:00:00Z"),
        startupOutputs({ tinesHealth: { healthyAt: "2026-01-02T01:01:00Z" } }),
      ),
    );
    expect(healthy.downtime).toMatchObject({ untilSource: "tines-healthy", seconds: 3650 });
    const html = renderWindowHtml(healthy, "/* chart */");
    expect(html).toContain("first service stopped → Tines reported healthy");
  });

  it("escapes every value it prints", () => {
    expect(escapeHtml(`<script>"x"&'y'</script>`)).toBe(
      "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;",
    );
    expect(formatBytes(2048)).toBe("2.0 KiB (2048 bytes)");
    const view = updateView(
      entry(1, "shutdown", "2026-01-02T00:00:00Z", "</script><script>alert(1)</script>"),
      parseDeployment({ deployment: { resources: [] } }),
    );
    const html = renderWindowHtml(windowView("s", view), "");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("&lt;/script&gt;&lt;script&gt;alert(1)");
  });
});

describe("the jobs no drain empties, in the report", () => {
  const shutdownWith = (audit: Record<string, unknown>, gates: Array<ReturnType<typeof dynamic>> = []) =>
    updateView(
      entry(4, "shutdown", "2026-01-02T00:00:00Z"),
      parseDeployment({
        deployment: {
          resources: [
            {
              urn: urn("pulumi:pulumi:Stack", "x"),
              type: "pulumi:pulumi:Stack",
              outputs: { steps: ["sidekiq-drain", "sidekiq-carry"], services: [], audit },
            },
            ...gates,
          ],
        },
      }),
    );
  const carry = {
    from: "redis://:***@old:6379/1",
    to: secret("to"),
    mode: "carry",
    outcome: "carried",
    summary: "2 scheduled for later (next due in 1h59m), 1 retry, 1 dead: carried to the new Redis",
    held: { scheduled: 2, retries: 1, dead: 1, queued: 0, nextScheduledAt: "2026-01-02T01:59:00Z" },
    carried: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
    leftBehind: { scheduled: 0, retries: 0, dead: 0, queued: 0 },
    method: "restore",
    seconds: { survey: 0.01, copy: 0.02, verify: 0.03, total: 0.06 },
    warnings: ["new Redis: 1 Sidekiq process(es) already use it; <b>"],
    startedAt: "2026-01-02T00:00:30Z",
    finishedAt: "2026-01-02T00:00:31Z",
  };

  it("shows the drain gate's count and the carry's record, from the gate or from the audit", () => {
    const audit = {
      sidekiqDrain: {
        outcome: "passed",
        samples: [],
        held: { summary: "2 scheduled …: carried to the new Redis at the switch" },
      },
    };
    for (const view of [
      windowView("s", shutdownWith(audit, [dynamic("sidekiq-carry", carry)])),
      windowView("s", shutdownWith({ ...audit, sidekiqCarry: carry })),
    ]) {
      expect(view.sidekiqHeld).toEqual({
        summary: "2 scheduled …: carried to the new Redis at the switch",
        from: "sidekiq-drain",
      });
      expect(view.sidekiqCarry).toMatchObject({
        outcome: "carried",
        to: SECRET,
        carried: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
        held: { nextScheduledAt: "2026-01-02T01:59:00Z" },
        seconds: 0.06,
      });
      const html = renderWindowHtml(view, "");
      expect(html).toContain("<h2>Sidekiq jobs no drain empties</h2>");
      expect(html).toMatch(
        /<p id="sidekiq-carry"><strong>carried<\/strong>: 2 scheduled for later \(next due in 1h59m\), 1 retry, 1 dead: carried to the new Redis<\/p>/,
      );
      expect(html).toMatch(
        /<tr><td>in the new Redis, verified<\/td><td>2<\/td><td>1<\/td><td>1<\/td><td>0<\/td><\/tr>/,
      );
      expect(html).toContain("warning: new Redis: 1 Sidekiq process(es) already use it; &lt;b&gt;");
    }
  });

  it("records what a discard left behind, and says when there is no record", () => {
    const discarded = {
      ...carry,
      mode: "discard",
      outcome: "discarded",
      summary: "… left behind in the old Redis (sidekiq.onRedisSwitch: discard)",
      carried: { scheduled: 0, retries: 0, dead: 0, queued: 0 },
      leftBehind: { scheduled: 2, retries: 1, dead: 1, queued: 0 },
    };
    const html = renderWindowHtml(windowView("s", shutdownWith({ sidekiqCarry: discarded })), "");
    expect(html).toMatch(/<tr><td>left behind<\/td><td>2<\/td><td>1<\/td><td>1<\/td><td>0<\/td><\/tr>/);
    expect(renderWindowHtml(windowView("s", shutdownWith({})), "")).toContain(
      "No record of scheduled jobs, retries or dead jobs in this window.",
    );
  });
});
