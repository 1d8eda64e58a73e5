/**
 * Every way out of a presync removes its replication slot: a Ctrl-C (SIGINT) of a start or a
 * cut-over cleans up by itself; a SIGKILL cannot, and leaves the slot to the recovery the
 * runbook gives (`maint db-presync remove`, or the step run again), after which nothing is
 * left. Real signals to `maint db-presync` as a child process, real PostgreSQL 15.
 */
import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parsePgUrl } from "../../lib/database/connection";
import { presyncName, removePresync } from "../../lib/database/presyncObjects";
import { silentReporter } from "../../lib/progress";
import { presyncLeftoverProblem } from "../../lib/database/presyncGates";
import { startCli, type CliChild } from "../../testkit/cliChild";
import { createDatabase, serverUrl, withClient, type TestDatabase } from "../../testkit/databases";
import {
  databaseExists,
  dropPresyncDatabases,
  fillForPresync,
  NOTHING_LEFT,
  replicationLeft,
  startWriter,
  targetDatabase,
} from "../../testkit/presync";

const targets: TestDatabase[] = [];
let source: TestDatabase;
beforeAll(async () => {
  source = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "psintr");
  // Large enough that the initial copy takes a while even on a fast machine.
  await fillForPresync(source.url, { rows: 20_000, largeRows: 48 });
}, 180_000);
afterAll(() => dropPresyncDatabases([source], targets));
// Each test starts from a source with nothing of ours on it, whatever the one before left.
afterEach(async () => {
  for (const target of targets) {
    await removePresync({
      source: parsePgUrl(source.url, "source"),
      target: parsePgUrl(target.url, "target"),
      reporter: silentReporter,
    });
  }
});

let counter = 0;
function newTarget(): TestDatabase {
  const t = targetDatabase(`${source.name}_t${++counter}`);
  targets.push(t);
  return t;
}

function presync(action: string, target: TestDatabase, extra: string[] = []): CliChild {
  return startCli(
    ["db-presync", action, "--from", "env:SRC", "--to", "env:DST", "--stack", "test", ...extra],
    {
      SRC: source.url,
      DST: target.url,
    },
  );
}

async function succeeds(action: string, target: TestDatabase, extra: string[] = []): Promise<string> {
  const run = presync(action, target, extra);
  const { code } = await run.exited;
  if (code !== 0) throw new Error(`db-presync ${action} exited ${code}: ${run.stderr.join(" | ")}`);
  return run.stdout.join("");
}

/** Sessions and child tools of ours still on either server or in the process list. */
async function nothingOfOursRunning(target: TestDatabase): Promise<void> {
  const sessions = async () =>
    (
      await Promise.all(
        [serverUrl("TEST_PG_SOURCE_URL"), serverUrl("TEST_PG_TARGET_URL")].map((url) =>
          withClient(url, async (c) =>
            (
              await c.query<{ n: string }>(
                "SELECT application_name AS n FROM pg_stat_activity WHERE application_name LIKE 'tines-maintenance%' AND pid <> pg_backend_pid()",
              )
            ).rows.map((r) => r.n),
          ),
        ),
      )
    ).flat();
  const tools = () =>
    execFileSync("ps", ["-eo", "args="], { encoding: "utf8" })
      .split("\n")
      .filter((l) => /pg_dump|pg_restore/.test(l) && (l.includes(source.name) || l.includes(target.name)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const [left, running] = [await sessions(), tools()];
    if (left.length === 0 && running.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still running: ${[...left, ...running].join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const slotName = (target: TestDatabase) => presyncName(parsePgUrl(target.url, "--to"));

describe("db-presync start interrupted", () => {
  it("by SIGINT during the initial copy: removes the slot, publication and the database it created", async () => {
    const target = newTarget();
    const run = presync("start", target, ["--jobs", "2"]);
    await run.waitFor(/^restore: table \S+ done/);
    run.child.kill("SIGINT");
    const { signal } = await run.exited;
    expect(signal).toBe("SIGINT");
    expect(run.stderr.join("\n")).toMatch(/presync interrupted; removed what it had created/);
    expect(await replicationLeft(source.url, target.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), target.name)).toBe(false);
    await nothingOfOursRunning(target);
  });

  it("by SIGKILL: the slot stays until the recovery, which removes it (or starts again)", async () => {
    const target = newTarget();
    const run = presync("start", target, ["--jobs", "2"]);
    await run.waitFor(/^restore: table \S+ done/);
    run.child.kill("SIGKILL");
    expect((await run.exited).signal).toBe("SIGKILL");
    const name = slotName(target);
    expect((await replicationLeft(source.url, target.url)).slots).toEqual([name]);
    await nothingOfOursRunning(target);
    // What the startup and `maint` say about it.
    expect(await presyncLeftoverProblem({ sourceUrl: source.url, targetUrl: target.url })).toMatch(
      new RegExp(
        `the presync's replication is still on the source after the window: replication slot ${name}`,
      ),
    );
    const leftovers = presync("leftovers", target);
    expect((await leftovers.exited).code).toBe(1);
    expect(leftovers.stdout.join("")).toMatch(
      new RegExp(`replication slot ${name} \\(database ${source.name}, not in use`),
    );

    // Recovery 1: the step again restarts the copy of ours from scratch.
    expect(await succeeds("start", target, ["--jobs", "2"])).toMatch(/copied and verified .* streaming/);
    expect(await replicationLeft(source.url, target.url)).toEqual({
      slots: [name],
      publications: [name],
      subscriptions: [name],
    });
    // Recovery 2 (presync no longer wanted): remove, with the copy.
    expect(await succeeds("remove", target, ["--drop-target"])).toMatch(
      /removed 1 subscriptions, 1 slots, 1 publications and the target database/,
    );
    expect(await replicationLeft(source.url, target.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), target.name)).toBe(false);
    expect(await presyncLeftoverProblem({ sourceUrl: source.url, targetUrl: target.url })).toBeUndefined();
  });
});

describe("db-presync cutover interrupted", () => {
  /** A presync whose copy is behind and cannot catch up (its subscription paused): the cut-over waits. */
  async function stalledPresync(target: TestDatabase): Promise<void> {
    await succeeds("start", target, ["--jobs", "2"]);
    await withClient(target.url, (c) => c.query(`ALTER SUBSCRIPTION ${slotName(target)} DISABLE`));
    const writer = await startWriter(source.url, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await writer.stop();
  }

  it("by SIGINT while catching up: removes the replication, keeps the copy, the source untouched", async () => {
    const target = newTarget();
    await stalledPresync(target);
    const run = presync("cutover", target);
    await run.waitFor(/^cut-over: catching up with the source's WAL position/);
    const at = Date.now();
    run.child.kill("SIGINT");
    expect((await run.exited).signal).toBe("SIGINT");
    expect(Date.now() - at).toBeLessThan(10_000);
    expect(run.stderr.join("\n")).toMatch(/cut-over interrupted; the replication was removed/);
    expect(await replicationLeft(source.url, target.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), target.name)).toBe(true);
    await nothingOfOursRunning(target);
    await succeeds("remove", target, ["--drop-target"]);
  });

  it("by SIGKILL: the startup names the slot; the cut-over run again finishes it, and nothing is left", async () => {
    const target = newTarget();
    await stalledPresync(target);
    const run = presync("cutover", target);
    await run.waitFor(/^cut-over: catching up with the source's WAL position/);
    run.child.kill("SIGKILL");
    expect((await run.exited).signal).toBe("SIGKILL");
    const name = slotName(target);
    expect(await presyncLeftoverProblem({ sourceUrl: source.url, targetUrl: target.url })).toMatch(
      /still on the source after the window/,
    );
    // The runbook's recovery: the replication runs again (here: un-paused), the step again.
    await withClient(target.url, (c) => c.query(`ALTER SUBSCRIPTION ${name} ENABLE`));
    const out = await succeeds("cutover", target);
    expect(out).toMatch(/identical/);
    expect(out).toMatch(/verified \(changed rows\)/);
    expect(await replicationLeft(source.url, target.url)).toEqual(NOTHING_LEFT);
    await nothingOfOursRunning(target);
  });
});

describe("db-presync remove", () => {
  it("after a presync set back to false: nothing of the replication is left, nor the copy", async () => {
    const target = newTarget();
    await succeeds("start", target, ["--jobs", "2"]);
    const status = presync("status", target, ["--json"]);
    expect((await status.exited).code).toBe(0);
    expect(JSON.parse(status.stdout.join(""))).toMatchObject({ state: "streaming", slotExists: true });
    await succeeds("remove", target, ["--drop-target"]);
    expect(await replicationLeft(source.url, target.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), target.name)).toBe(false);
    // Idempotent: a second removal finds nothing and succeeds.
    expect(await succeeds("remove", target)).toMatch(/removed 0 subscriptions, 0 slots, 0 publications/);
  });
});
