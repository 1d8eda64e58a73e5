/**
 * A migration stopped half-way (issue 20, items 3 and 4), against the real test PostgreSQL
 * servers: the abort signal (the engine died, the update was cancelled) ends the copy within
 * seconds, with none of its sessions left on either server, no pg_dump/pg_restore running and
 * no file left; the half-written target carries this stack's mark, a rerun of the same stack
 * and window starts it again cleanly by the streaming path and finishes it, and any other run
 * still refuses it as not empty.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fillTinesLike, serverUrl, withClient } from "../../testkit/databases";
import { databasesPerTest, privateTmpdir } from "../../testkit/testScope";
import { GateError } from "../errors";
import type { ProgressReporter } from "../progress";
import { migrateDatabase } from "./migrate";
import { readTargetMarker } from "./targetMarker";

const tmp = privateTmpdir("interrupted-");
const { database } = databasesPerTest("intr");

const OWN = { stack: "prod", windowStartedAt: "2026-12-07T13:00:00.000Z" };

/** Sessions of any tines-maintenance operation on a server (our tag is in application_name). */
async function ourSessions(server: string): Promise<string[]> {
  return withClient(server, async (c) => {
    const { rows } = await c.query<{ a: string }>(
      "SELECT application_name || ' ' || coalesce(state, '') AS a FROM pg_stat_activity WHERE application_name LIKE 'tines-maintenance db-migrate %'",
    );
    return rows.map((r) => r.a);
  });
}

/** pg_dump / pg_restore processes this test process started (directly). */
function ourPgTools(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (ppid === process.pid && /pg_(dump|restore)/.test(cmd)) found.push(cmd.split("\0").join(" "));
    } catch {
      // gone
    }
  }
  return found;
}

function recorder(onInfo?: (line: string) => void): ProgressReporter & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (line) => {
      lines.push(line);
      onInfo?.(line);
    },
    warn: (line) => lines.push(`warning: ${line}`),
  };
}

/** The error `work` fails with; an Error saying so when it succeeds. */
function failure(work: Promise<unknown>): Promise<Error> {
  return work.then(
    () => new Error("it succeeded"),
    (e: unknown) => e as Error,
  );
}

async function rowCount(url: string): Promise<number> {
  return withClient(url, async (c) =>
    Number((await c.query<{ n: string }>("SELECT count(*)::text AS n FROM tines.events")).rows[0].n),
  );
}

describe("a migration aborted half-way, and the rerun", () => {
  it("stops within seconds leaving nothing running; the same stack and window restarts its own copy; others are refused", async () => {
    const src = await database("TEST_PG_SOURCE_URL");
    // Enough rows that the copy is still running when the abort comes.
    await fillTinesLike(src.url, { rows: 400_000, largeRows: 2 });
    const tgt = await database("TEST_PG_TARGET_URL");

    const controller = new AbortController();
    let abortedAt = 0;
    const progress = recorder();
    // Abort while the large table's rows stream in, as the target server's own COPY progress
    // shows it, whatever order the copy's scheduler picked.
    const streaming = withClient(serverUrl("TEST_PG_TARGET_URL"), async (c) => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !controller.signal.aborted) {
        // By count alone: the copy creates each table in its own transaction, so another
        // session cannot see its name yet. Only tines.events has this many rows.
        const { rows } = await c.query<{ n: string }>(
          "SELECT coalesce(max(tuples_processed), 0)::text AS n FROM pg_stat_progress_copy WHERE datname = $1",
          [tgt.name],
        );
        if (Number(rows[0].n) > 20_000) {
          abortedAt = Date.now();
          controller.abort("the Pulumi engine that ran this update is gone (pulumi was killed)");
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    const error = await failure(
      migrateDatabase({
        sourceUrl: src.url,
        targetUrl: tgt.url,
        jobs: 2,
        reporter: progress,
        signal: controller.signal,
        marker: OWN,
      }),
    );
    await streaming;
    const stoppedAfter = (Date.now() - abortedAt) / 1000;
    console.log(
      `aborted copy ended ${stoppedAfter.toFixed(2)} s after the abort; ${progress.lines.slice(-3).join(" | ")}`,
    );
    expect(abortedAt).toBeGreaterThan(0);
    expect(error.message).toMatch(/^db-migrate: stopped, the Pulumi engine that ran this update is gone/);
    expect(stoppedAfter).toBeLessThan(5);
    expect(await ourSessions(serverUrl("TEST_PG_SOURCE_URL"))).toEqual([]);
    expect(await ourSessions(serverUrl("TEST_PG_TARGET_URL"))).toEqual([]);
    expect(ourPgTools()).toEqual([]);
    expect(readdirSync(tmp())).toEqual([]);
    // Half-written and marked as this stack's.
    const marker = await withClient(tgt.url, readTargetMarker);
    expect(marker).toMatchObject({ ...OWN, purpose: "migration", state: "copying" });
    expect(await rowCount(tgt.url)).toBeLessThan(400_000);

    // Another window (or stack) still finds it not empty, and is told whose it is.
    const other = await failure(
      migrateDatabase({
        sourceUrl: src.url,
        targetUrl: tgt.url,
        jobs: 2,
        reporter: recorder(),
        marker: { ...OWN, windowStartedAt: "2026-12-08T09:00:00.000Z" },
      }),
    );
    expect(other).toBeInstanceOf(GateError);
    expect(other.message).toMatch(
      /is not empty .*it holds a copy marked by stack prod, window 2026-12-07T13:00:00\.000Z \(migration, copying\), not this run's interrupted one/,
    );

    // The same stack and window: restarted from nothing, completed and verified.
    const rerun = recorder();
    const result = await migrateDatabase({
      sourceUrl: src.url,
      targetUrl: tgt.url,
      jobs: 2,
      reporter: rerun,
      marker: OWN,
    });
    expect(rerun.lines.filter((l) => /holds this stack's interrupted copy/.test(l))).toEqual([
      expect.stringMatching(
        /dropping and re-creating it, then copying again from the start by the streaming path$/,
      ),
    ]);
    expect(result.comparison.mismatches).toEqual([]);
    expect(await rowCount(tgt.url)).toBe(400_000);
    expect(await withClient(tgt.url, readTargetMarker)).toMatchObject({ ...OWN, state: "verified" });
    expect(readdirSync(tmp())).toEqual([]);

    // A verified copy is never restarted: a later run refuses it.
    const again = await failure(
      migrateDatabase({
        sourceUrl: src.url,
        targetUrl: tgt.url,
        reporter: recorder(),
        marker: OWN,
      }),
    );
    expect(again).toBeInstanceOf(GateError);
    expect(again.message).toMatch(/is not empty/);
  }, 300_000);
});
