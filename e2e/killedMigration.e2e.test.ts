/**
 * `pulumi up` SIGKILLed while rows stream into the new server (a killed CI job), then the
 * recovery of docs/RUNBOOK.md §3b (issue 20, items 3 and 4). Real Pulumi CLI with the policy
 * pack, ECS on moto, two real PostgreSQL servers, enough data that the copy is still running.
 *
 * Before: the orphaned provider finished the whole migration unobserved, holding snapshot
 * sessions on the source, and the language host stayed alive for minutes; the rerun then
 * refused the stack's own half-written target as "not empty". Now, within seconds of the
 * kill, no process of the update is left, neither server shows a session of it and no temp
 * file is left; `cancel`, `refresh --clear-pending-creates` and `up` restart the copy cleanly.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { withClient } from "../testkit/databases";
import { TEST_PG_PASSWORD } from "../testkit/servers";
import { createMigrationStack, ecsE2e, logRun } from "./ecsStack";
import { ecsDesiredCounts } from "../testkit/motoEcs";
import { processCommand } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 2 };
const ROWS = 600_000;
/** How long after the kill nothing of the update may remain. */
const GONE_WITHIN_SECONDS = 10;

/** Sessions of a tines-maintenance database operation on a server. */
async function ourSessions(server: string): Promise<string[]> {
  return withClient(server, async (c) => {
    const { rows } = await c.query<{ a: string }>(
      `SELECT application_name || ': ' || coalesce(state, '') || ' ' || left(coalesce(query, ''), 40) AS a
         FROM pg_stat_activity WHERE application_name LIKE 'tines-maintenance %'`,
    );
    return rows.map((r) => r.a);
  });
}

async function copying(server: string): Promise<boolean> {
  return withClient(server, async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name LIKE 'tines-maintenance db-migrate %' AND query LIKE 'COPY %FROM STDIN%' AND state = 'active'`,
    );
    return rows[0].n > 0;
  });
}

async function events(url: string): Promise<number> {
  return withClient(url, async (c) =>
    Number((await c.query<{ n: string }>("SELECT count(*)::text AS n FROM tines.events")).rows[0].n),
  );
}

const cmdline = processCommand;

describe("a migration whose pulumi up is SIGKILLed mid-copy, and the recovery (real Pulumi CLI)", () => {
  const env = ecsE2e(async (scope) => {
    // The update's own temp directory: whatever it leaves there is a leftover.
    const tmp = scope.tempDir("tines-maint-e2e-kill-tmp-");
    const migration = await createMigrationStack(scope, {
      stack: "e2e-killed-migration",
      counts: COUNTS,
      fill: { rows: ROWS, largeRows: 4 },
      env: { TMPDIR: tmp },
    });
    // Only the test writes on this server: no autovacuum run between the dump and the rerun.
    await withClient(migration.source.url, (c) => c.query("VACUUM ANALYZE"));
    await withClient(migration.sourceServer.url, async (c) => {
      await c.query("ALTER SYSTEM SET autovacuum = off");
      await c.query("SELECT pg_reload_conf()");
    });
    return { ...migration, tmp };
  });

  it("stops everything within seconds of the kill; cancel, refresh and up restart the copy and finish it", async () => {
    const run = env.stack.startUp("e2e: shutdown and migration, SIGKILL mid-copy");
    const deadline = Date.now() + 300_000;
    while (!(await copying(env.targetServer.url))) {
      if (Date.now() > deadline) throw new Error(`the copy never started:\n${run.output()}`);
      if (run.child.exitCode !== null) throw new Error(`pulumi up ended before the copy:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = env.stack.strayProcesses();
    console.log(
      `--- during the copy: ${before.map((pid) => `${pid} ${cmdline(pid).slice(0, 90)}`).join("\n    ")}`,
    );
    expect(before.some((pid) => cmdline(pid).includes("dynamic-provider"))).toBe(true);
    expect(before.some((pid) => cmdline(pid).includes("pulumi-language-nodejs"))).toBe(true);

    process.kill(-run.child.pid!, "SIGKILL");
    const killedAt = Date.now();
    await run.done;

    let processesGone: number | undefined;
    let sessionsGone: number | undefined;
    const samples: string[] = [];
    while (
      (Date.now() - killedAt) / 1000 < 60 &&
      (processesGone === undefined || sessionsGone === undefined)
    ) {
      const left = env.stack.strayProcesses();
      const sessions = [
        ...(await ourSessions(env.sourceServer.url)).map((s) => `source ${s}`),
        ...(await ourSessions(env.targetServer.url)).map((s) => `target ${s}`),
      ];
      const at = (Date.now() - killedAt) / 1000;
      samples.push(
        `${at.toFixed(1)}s: ${left.map((pid) => cmdline(pid).split(" ").slice(0, 2).join(" ")).join(", ") || "no process"}; ${sessions.join(", ") || "no session"}`,
      );
      if (left.length === 0) processesGone ??= at;
      if (sessions.length === 0) sessionsGone ??= at;
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(
      `after the kill: processes gone at ${processesGone?.toFixed(1)} s, sessions gone at ${sessionsGone?.toFixed(1)} s\n  ${samples.join("\n  ")}`,
    );
    expect(processesGone, samples.join("\n")).toBeLessThan(GONE_WITHIN_SECONDS);
    expect(sessionsGone, samples.join("\n")).toBeLessThan(GONE_WITHIN_SECONDS);
    expect(readdirSync(env.tmp), "temp files left").toEqual([]);
    // The copy did not finish unobserved.
    expect(await events(env.target.url).catch(() => 0)).toBeLessThan(ROWS);

    // docs/RUNBOOK.md §3b.
    const locked = await env.stack.up("e2e: rerun without recovery");
    expect(logRun("up (no recovery)", locked)).toMatch(/the stack is currently locked/);
    logRun("cancel", await env.stack.run(["cancel", "--yes", "--stack", env.stack.stack]));
    const refresh = await env.stack.runScoped(["refresh", "--yes", "--clear-pending-creates"]);
    expect(refresh.code, logRun("refresh --clear-pending-creates", refresh)).toBe(0);

    const rerun = await env.stack.up("e2e: rerun after SIGKILL");
    const output = logRun("up (rerun after SIGKILL)", rerun);
    expect(rerun.code, output).toBe(0);
    expect(output).toMatch(
      /holds this stack's interrupted copy \(stack e2e-killed-migration, window \S+ \(migration, copying\)\): dropping and re-creating it/,
    );
    expect(output).not.toMatch(/is not empty/);
    // Nothing wrote to the source since the killed update's dump: the retry reuses it.
    expect(output).toMatch(/backup: reusing .* from this window's earlier update/);
    expect(readdirSync(env.backupDir)).toHaveLength(1);
    expect(await events(env.target.url)).toBe(ROWS);
    const outputs = await env.stack.outputs();
    expect((outputs.audit as { databaseMigration?: { mismatches: number } }).databaseMigration).toMatchObject(
      {
        mismatches: 0,
      },
    );
    expect(await ecsDesiredCounts(env.ecs, Object.keys(COUNTS))).toEqual({ "tines-app": 0 });
    expect(await ourSessions(env.sourceServer.url)).toEqual([]);
    expect(await ourSessions(env.targetServer.url)).toEqual([]);
    expect(readdirSync(env.tmp)).toEqual([]);
    expect(output).not.toContain(TEST_PG_PASSWORD);
    expect(output).not.toContain("NodeVersionSupportWarning");
  });
});
