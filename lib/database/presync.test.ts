/**
 * Presync against two real PostgreSQL 15 servers: set up while a writer inserts, updates and
 * deletes (jsonb, TOASTed values, a composite key), keep writing, stop, cut over. Then every
 * row is identical (the full verification of db-migrate, independent of the cut-over's own),
 * every sequence is at or above the source's, and nothing of the replication is left.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentReporter, type ProgressReporter } from "../progress";
import { cutOver } from "./cutover";
import { parsePgUrl } from "./connection";
import { migrateDatabase } from "./migrate";
import { presyncStatus, startPresync } from "./presync";
import { presyncLeftovers } from "./presyncObjects";
import { verifyCopy } from "./verify";
import { createDatabase, serverUrl, withClient, type TestDatabase } from "../../testkit/databases";
import {
  databaseExists,
  dropPresyncDatabases,
  fillForPresync,
  NOTHING_LEFT,
  replicationLeft,
  sequenceValues,
  startWriter,
  targetDatabase,
  waitCaughtUp,
} from "../../testkit/presync";
import { recordingReporter } from "../../testkit/recordingReporter";

const sources: TestDatabase[] = [];
const targets: TestDatabase[] = [];
afterAll(() => dropPresyncDatabases(sources, targets));

async function source(prefix: string): Promise<TestDatabase> {
  const db = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), prefix);
  sources.push(db);
  await fillForPresync(db.url, { rows: 3000, largeRows: 4 });
  return db;
}

function targetFor(db: TestDatabase): TestDatabase {
  const t = targetDatabase(`${db.name}_new`);
  targets.push(t);
  return t;
}

/** The presync of `src` into `dst` for stack "test" with two jobs, silent unless told. */
function presyncInto(
  src: TestDatabase,
  dst: TestDatabase,
  more: Partial<Parameters<typeof startPresync>[0]> = {},
) {
  return startPresync({
    sourceUrl: src.url,
    targetUrl: dst.url,
    stack: "test",
    jobs: 2,
    reporter: silentReporter,
    ...more,
  });
}

/** A filled source and its target, the presync between them started. */
async function presynced(prefix: string) {
  const src = await source(prefix);
  const dst = targetFor(src);
  const { name } = await presyncInto(src, dst);
  return { src, dst, name };
}

/** The error the cut-over of `src` into `dst` (stack "test") fails with. */
function cutOverError(src: TestDatabase, dst: TestDatabase): Promise<Error> {
  return cutOver({ sourceUrl: src.url, targetUrl: dst.url, stack: "test", reporter: silentReporter }).then(
    () => new Error("the cut-over did not fail"),
    (e: Error) => e,
  );
}

describe("presync and cut-over under writes", () => {
  let src: TestDatabase;
  let dst: TestDatabase;
  beforeAll(async () => {
    src = await source("ps");
    dst = targetFor(src);
  }, 120_000);

  it("copies while Tines writes, follows, and cuts over to an identical copy with nothing left", async () => {
    const writer = await startWriter(src.url);
    const reporter = recordingReporter();
    const started = await presyncInto(src, dst, { reporter });
    expect(started.alreadyRunning).toBe(false);
    expect(started.status.state).toBe("streaming");
    expect(started.status.readyTables).toBe(started.status.tables);
    expect(started.tables).toBe(5);
    expect(writer.commits).toBeGreaterThan(0);

    // A second run finds it set up and changes nothing.
    const again = await startPresync({ sourceUrl: src.url, targetUrl: dst.url, stack: "test", reporter });
    expect(again.alreadyRunning).toBe(true);

    // Writes go on after the initial copy, through the subscription.
    const before = writer.commits;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(writer.commits).toBeGreaterThan(before);
    const status = await presyncStatus({ sourceUrl: src.url, targetUrl: dst.url, stack: "test" });
    expect(status.state).toBe("streaming");
    expect(status.lagSeconds).not.toBeNull();

    // A plain migration refuses the presync copy, allowNonEmptyTarget or not.
    await expect(
      migrateDatabase({
        sourceUrl: src.url,
        targetUrl: dst.url,
        allowNonEmptyTarget: true,
        reporter: silentReporter,
      }),
    ).rejects.toThrow(/is a presync copy \(stack test\)/);

    // The app tier stops: the last write, then the cut-over.
    const commits = await writer.stop();
    expect(commits).toBeGreaterThan(20);
    const cut = await cutOver({ sourceUrl: src.url, targetUrl: dst.url, stack: "test", jobs: 2, reporter });
    expect(cut.verification).toBe("changed rows");
    expect(cut.recheckedInFull).toEqual([]);
    expect(cut.comparison.mismatches).toEqual([]);

    // Independently of the cut-over's own check: every row, in full.
    const full = await verifyCopy(parsePgUrl(src.url, "source"), parsePgUrl(dst.url, "target"), {
      jobs: 2,
      checksumMaxBytes: 10 * 1024 ** 3,
      compareOwners: true,
      reporter: silentReporter,
    });
    expect(full.comparison.mismatches).toEqual([]);
    expect(full.comparison.checksummedTables).toBe(5);
    const [sourceSeqs, targetSeqs] = await Promise.all([sequenceValues(src.url), sequenceValues(dst.url)]);
    expect(Object.keys(targetSeqs).sort()).toEqual(Object.keys(sourceSeqs).sort());
    for (const [name, value] of Object.entries(sourceSeqs))
      expect(targetSeqs[name]).toBeGreaterThanOrEqual(value);

    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    expect((await presyncLeftovers(parsePgUrl(src.url, "source"))).lines).toEqual([]);
    // No longer a copy: the status says done, and a plain migration refuses it as non-empty.
    expect((await presyncStatus({ sourceUrl: src.url, targetUrl: dst.url, stack: "test" })).state).toBe(
      "done",
    );
    await expect(
      migrateDatabase({ sourceUrl: src.url, targetUrl: dst.url, reporter: silentReporter }),
    ).rejects.toThrow(/is not empty/);
    expect(reporter.lines.some((l) => /cut-over: caught up with the source's WAL position/.test(l))).toBe(
      true,
    );
  }, 180_000);
});

describe("schema changes during presync", () => {
  it("make the cut-over refuse, naming the objects, and remove the replication", async () => {
    const { src, dst } = await presynced("psddl");
    await withClient(src.url, (c) =>
      c.query(
        "ALTER TABLE tines.events ADD COLUMN priority int; CREATE INDEX events_priority ON tines.events (priority)",
      ),
    );
    const error = await cutOverError(src, dst);
    expect((error as Error).message).toMatch(/the source's schema changed since the presync started/);
    expect((error as Error).message).toMatch(/definition columns tines\.events/);
    expect((error as Error).message).toMatch(/index tines\.events_priority: missing on target/);
    expect((error as Error).message).toMatch(/the presync was removed \(no slot is left on the source\)/);
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    // The copy is kept (still marked a presync copy), and the old database is untouched.
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), dst.name)).toBe(true);
  }, 120_000);
});

describe("a difference found by the cut-over's verification", () => {
  it("fails the step before the switch: the replication removed, the copy kept, the source untouched", async () => {
    const { src, dst, name } = await presynced("psdiff");
    // One row of the copy changed behind replication's back.
    await withClient(dst.url, (c) =>
      c.query("UPDATE tines.events SET amount = amount + 0.001 WHERE id = 42"),
    );
    const sourceBefore = await withClient(
      src.url,
      async (c) =>
        (await c.query("SELECT amount::text AS a FROM tines.events WHERE id = 42")).rows[0].a as string,
    );
    const error = await cutOverError(src, dst);
    expect((error as Error).message).toMatch(
      /^cut-over: verification failed: 1 mismatches between source and target: table tines\.events: content checksum differs; the replication was removed, the copy on the target is kept, and the old database stays the live one$/,
    );
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), dst.name)).toBe(true);
    expect((await presyncStatus({ sourceUrl: src.url, targetUrl: dst.url, stack: "test" })).state).toBe(
      "missing",
    );
    expect(
      await withClient(
        src.url,
        async (c) => (await c.query("SELECT amount::text AS a FROM tines.events WHERE id = 42")).rows[0].a,
      ),
    ).toBe(sourceBefore);
    expect(name).toMatch(/^tines_presync_[0-9a-f]{16}$/);
  }, 120_000);
});

describe("an interrupted cut-over's recovery", () => {
  it("with the replication already removed, the cut-over verifies the copy in full", async () => {
    const { src, dst } = await presynced("psrec");
    await withClient(src.url, (c) => c.query("INSERT INTO tines.stories (name) VALUES ('after the copy')"));
    // What a kill right after the teardown leaves: the copy caught up, the subscription gone.
    const status = await presyncStatus({ sourceUrl: src.url, targetUrl: dst.url, stack: "test" });
    await waitCaughtUp(src.url, dst.url, status.name);
    await withClient(dst.url, async (c) => {
      await c.query(`ALTER SUBSCRIPTION ${status.name} DISABLE`);
      await c.query(`ALTER SUBSCRIPTION ${status.name} SET (slot_name = NONE)`);
      await c.query(`DROP SUBSCRIPTION ${status.name}`);
    });
    const reporter = recordingReporter();
    const cut = await cutOver({ sourceUrl: src.url, targetUrl: dst.url, stack: "test", reporter });
    expect(cut.verification).toBe("full");
    expect(cut.comparison.mismatches).toEqual([]);
    expect(reporter.lines.some((l) => /the replication was already removed/.test(l))).toBe(true);
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
  }, 120_000);
});

describe("an abort (Ctrl-C, the engine gone) stops the step promptly and removes what it created", () => {
  /** A reporter that aborts `controller` at the first line matching `pattern`. */
  function abortAt(pattern: RegExp, controller: AbortController): ProgressReporter & { abortedAt?: number } {
    const reporter: ProgressReporter & { abortedAt?: number } = {
      info: (m) => {
        if (!controller.signal.aborted && pattern.test(m)) {
          reporter.abortedAt = Date.now();
          controller.abort();
        }
      },
      warn: () => undefined,
    };
    return reporter;
  }

  /**
   * Our sessions still on either server. A session closed just now may still be listed while
   * its backend exits, so it is read again for up to 2 s (load 10 in CI); one we left open stays.
   */
  async function sessionsOfOurs(): Promise<string[]> {
    const deadline = Date.now() + 2_000;
    let left = await sessionsListed();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = await sessionsListed();
    }
    return left;
  }

  async function sessionsListed(): Promise<string[]> {
    const lists = await Promise.all(
      [serverUrl("TEST_PG_SOURCE_URL"), serverUrl("TEST_PG_TARGET_URL")].map((url) =>
        withClient(url, async (c) =>
          (
            await c.query<{ n: string }>(
              "SELECT application_name AS n FROM pg_stat_activity WHERE application_name LIKE 'tines-maintenance presync%' OR application_name LIKE 'tines-maintenance cut-over%'",
            )
          ).rows.map((r) => r.n),
        ),
      ),
    );
    return lists.flat();
  }

  it("during the initial copy", async () => {
    const src = await source("psabort");
    const dst = targetFor(src);
    const controller = new AbortController();
    const reporter = abortAt(/^restore: table /, controller);
    const error = await presyncInto(src, dst, { reporter, signal: controller.signal }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^presync interrupted; removed what it had created/);
    expect(Date.now() - reporter.abortedAt!).toBeLessThan(10_000);
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), dst.name)).toBe(false);
    expect(await sessionsOfOurs()).toEqual([]);
  }, 120_000);

  it("during the cut-over's catch-up", async () => {
    const { src, dst, name } = await presynced("psabortc");
    // The copy cannot catch up: its subscription is paused and the source wrote on.
    await withClient(dst.url, (c) => c.query(`ALTER SUBSCRIPTION ${name} DISABLE`));
    // Only once the slot is idle on the source: a worker still stopping could confirm past the write.
    await withClient(src.url, async (c) => {
      const deadline = Date.now() + 30_000;
      while (
        (await c.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active", [name])).rowCount
      )
        if (Date.now() > deadline) throw new Error(`slot ${name} still active 30 s after DISABLE`);
        else await new Promise((r) => setTimeout(r, 50));
    });
    await withClient(src.url, (c) => c.query("INSERT INTO tines.stories (name) VALUES ('late')"));
    const controller = new AbortController();
    const reporter = abortAt(/^cut-over: catching up/, controller);
    const error = await cutOver({
      sourceUrl: src.url,
      targetUrl: dst.url,
      stack: "test",
      reporter,
      signal: controller.signal,
    }).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^cut-over interrupted; the replication was removed/);
    expect(Date.now() - reporter.abortedAt!).toBeLessThan(5_000);
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), dst.name)).toBe(true);
    expect(await sessionsOfOurs()).toEqual([]);
  }, 120_000);
});
