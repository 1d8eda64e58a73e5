/**
 * `maint report` on a real stack's history: the real Pulumi CLI runs a shutdown and a startup
 * on ECS (moto) with the Sidekiq gates, a real Redis and a real PostgreSQL backup; the report
 * is rendered from `pulumi stack history` and the exported deployments, then drawn by headless
 * Chromium. REPORT_SCREENSHOT=FILE keeps the screenshot.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { writeWindowReport } from "../cli/commands/report";
import { fillTinesLike } from "../testkit/databases";
import { enqueue } from "../testkit/sidekiqJobs";
import { TEST_PASSWORDS, startMoto, startPostgres, startRedis } from "../testkit/servers";
import { ecsE2e } from "./ecsStack";
import { quickDrainConfig, tinesRedisUrl } from "./stackConfig";

const COUNTS = { "tines-app": 2, "tines-sidekiq": 2, "tines-command-runner": 1 };

/** Headless Debian Chromium, with everything that would reach the network switched off. */
function screenshot(html: string, png: string): void {
  const profile = mkdtempSync(path.join(os.tmpdir(), "tines-maint-chromium-"));
  try {
    const result = spawnSync(
      "/usr/bin/chromium",
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        "--hide-scrollbars",
        "--window-size=1200,2600",
        "--virtual-time-budget=5000",
        `--screenshot=${png}`,
        `file://${html}`,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    if (result.status !== 0) throw new Error(`chromium exited ${result.status}: ${result.stderr}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

describe("maint report on a real stack's history", () => {
  const env = ecsE2e(async ({ start, database, tempDir, ecsStack }) => {
    const [redisServer, pg, moto] = await start(startRedis(), startPostgres("report-source"), startMoto());
    const redisUrl = tinesRedisUrl(redisServer);
    const tinesDb = await database(pg.url, "tines_report");
    await fillTinesLike(tinesDb.url, { rows: 300, largeRows: 0 });
    const dir = tempDir("tines-maint-report-e2e-");
    const { stack } = await ecsStack({
      stack: "report",
      moto,
      counts: COUNTS,
      // The rest of the suite runs the compiled program (entry/compiledEntry.js); this one the
      // TypeScript sources, as a run after an edit and before the next build does.
      env: { TINES_MAINTENANCE_FROM_SOURCES: "1" },
      config: {
        ...quickDrainConfig(30),
        "sidekiq.preflightSeconds": 2,
        "database.backup.directory": dir,
      },
    });
    await stack.setSecret("sidekiq.redisUrl", redisUrl);
    await stack.setSecret("database.url", tinesDb.url);
    return { redisUrl, databaseUrl: tinesDb.url, dir, stack };
  });

  it("draws the shutdown and the startup, steps in order, with no secret in the page", async () => {
    const redis = new Redis(env.redisUrl);
    // Jobs that a consumer works off during the pre-flight, so the chart has a slope.
    await enqueue(redis, "default", 3);
    const drain = setInterval(() => void redis.rpop("queue:default"), 700);
    const shutdown = await env.stack.up("CHG-42: report e2e shutdown (alice)");
    clearInterval(drain);
    redis.disconnect();
    expect(shutdown.code, shutdown.stdout + shutdown.stderr).toBe(0);
    const shutdownSteps = (await env.stack.outputs()).steps as string[];

    await env.stack.setConfig({ phase: "running" });
    const startup = await env.stack.up("CHG-42: report e2e startup (alice)");
    expect(startup.code, startup.stdout + startup.stderr).toBe(0);
    const startupSteps = (await env.stack.outputs()).steps as string[];

    const out = path.join(env.dir, "report.html");
    const { html } = await writeWindowReport({ stack: "report", out, run: (args) => env.stack.run(args) });
    expect(readFileSync(out, "utf8")).toBe(html);

    // Steps in the program's order, each bar starting after the one before it finished.
    const rows = [...html.matchAll(/<tr class="step" data-step="([^"]+)">(.*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual([...shutdownSteps, ...startupSteps]);
    const times = rows.map((r) =>
      [...r[2].matchAll(/<td>(\d{4}-\d\d-\d\dT[^<]+)<\/td>/g)].map((m) => Date.parse(m[1])),
    );
    for (const [start, finish] of times) expect(finish).toBeGreaterThanOrEqual(start);
    const shutdownTimes = times.slice(0, shutdownSteps.length);
    for (let i = 1; i < shutdownTimes.length; i++) {
      expect(
        shutdownTimes[i][0],
        `${shutdownSteps[i]} starts after ${shutdownSteps[i - 1]} finished`,
      ).toBeGreaterThanOrEqual(shutdownTimes[i - 1][1] - 5);
    }
    expect(html).toContain("CHG-42: report e2e shutdown (alice)");
    expect(html).toMatch(/first service stopped → last service reported ready/);
    expect(html).toMatch(/sha256<\/dt><dd>[0-9a-f]{64}</);
    expect(html).toContain("Chart.js v4.6.1");

    for (const secret of [...TEST_PASSWORDS, env.redisUrl, env.databaseUrl]) {
      expect(html).not.toContain(secret);
    }

    const png = path.join(env.dir, "report.png");
    screenshot(out, png);
    expect(statSync(png).size).toBeGreaterThan(50_000);
    if (process.env.REPORT_SCREENSHOT) copyFileSync(png, process.env.REPORT_SCREENSHOT);
  });
});
