/**
 * The cut-over's verification (changed rows against the baseline) catches one changed row,
 * whichever side it is on and whatever the kind of change, against real PostgreSQL 15: a
 * presync is set up, its subscription paused, and the two sides made to differ one row at a
 * time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentReporter } from "../progress";
import { parsePgUrl } from "./connection";
import { readBaseline, startPresync } from "./presync";
import { parseSnapshot, unchangedSince, verifyChangedRows, type Baseline } from "./verifyChanged";
import { createDatabase, serverUrl, withClient, type TestDatabase } from "../../testkit/databases";
import { dropPresyncDatabases, fillForPresync, targetDatabase, waitCaughtUp } from "../../testkit/presync";

describe("baseline snapshots", () => {
  it("keep the 32-bit transaction ids a row's xmin holds", () => {
    expect(parseSnapshot("4294967300:4294967310:4294967302,4294967305")).toEqual({
      xmin: "4",
      xmax: "14",
      xip: ["6", "9"],
    });
    expect(parseSnapshot("740:740:")).toEqual({ xmin: "740", xmax: "740", xip: [] });
    expect(() => parseSnapshot("nonsense")).toThrow(/not a transaction snapshot/);
  });

  it("a row is unchanged when its xmin precedes the snapshot's xmin, or its xmax and was not running", () => {
    expect(unchangedSince("10:20:12,15")).toBe(
      "(age(t.xmin) > (SELECT age('10'::xid)) OR (age(t.xmin) > (SELECT age('20'::xid)) AND t.xmin <> ALL ('{12,15}'::xid[])))",
    );
  });
});

describe("verifyChangedRows on a paused presync", () => {
  let src: TestDatabase;
  let dst: TestDatabase;
  let baseline: Baseline;
  let name: string;

  beforeAll(async () => {
    src = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "vc");
    await fillForPresync(src.url, { rows: 2000, largeRows: 3 });
    dst = targetDatabase(`${src.name}_new`);
    const started = await startPresync({
      sourceUrl: src.url,
      targetUrl: dst.url,
      stack: "test",
      jobs: 2,
      reporter: silentReporter,
    });
    name = started.name;
    // Changes that replication carries: both sides change, and still agree.
    await withClient(src.url, (c) =>
      c.query(`UPDATE tines.events SET payload = payload || '{"replicated": true}' WHERE id % 10 = 0;
               DELETE FROM tines.events WHERE id % 17 = 0;
               INSERT INTO tines.action_runs VALUES (7, 900001, 'new', '{"x": 1}')`),
    );
    await waitCaughtUp(src.url, dst.url, name);
    await withClient(dst.url, async (c) => {
      baseline = (await readBaseline(c, name))!;
      await c.query(`ALTER SUBSCRIPTION ${name} DISABLE`);
    });
  }, 120_000);

  afterAll(async () => {
    await dropPresyncDatabases([src], [dst]);
  });

  const verify = () =>
    verifyChangedRows(parsePgUrl(src.url, "source"), parsePgUrl(dst.url, "target"), {
      baseline,
      jobs: 2,
      checksumMaxBytes: 10 * 1024 ** 3,
      compareOwners: true,
      reporter: silentReporter,
    });

  it("finds the copy identical after replicated updates, deletes and inserts, without a full recheck", async () => {
    expect(baseline.source).toMatch(/^\d+:\d+:/);
    const result = await verify();
    expect(result.comparison.mismatches).toEqual([]);
    expect(result.recheckedInFull).toEqual([]);
    expect(result.comparison.checksummedTables).toBe(5);
  });

  it("catches each kind of difference, one row at a time", async () => {
    // One row changed on the target only (a row of the verified initial copy).
    await withClient(dst.url, (c) =>
      c.query("UPDATE tines.stories SET name = 'Story 5 (edited)' WHERE id = 5"),
    );
    let result = await verify();
    expect(result.recheckedInFull).toEqual(["tines.stories"]);
    expect(result.comparison.mismatches).toEqual(["table tines.stories: content checksum differs"]);

    // An update on the source that never reached the target.
    await withClient(src.url, (c) => c.query("UPDATE tines.events SET amount = amount + 1 WHERE id = 3"));
    result = await verify();
    expect(result.recheckedInFull).toEqual(["tines.events", "tines.stories"]);
    expect(result.comparison.mismatches).toContain("table tines.events: content checksum differs");

    // Same row count, same changed rows (none): a delete on each side, of different keys.
    await withClient(src.url, (c) =>
      c.query("DELETE FROM tines.action_runs WHERE story_id = 2 AND run_id = 1"),
    );
    await withClient(dst.url, (c) =>
      c.query("DELETE FROM tines.action_runs WHERE story_id = 3 AND run_id = 2"),
    );
    result = await verify();
    expect(result.recheckedInFull).toContain("tines.action_runs");
    expect(result.comparison.mismatches).toContain("table tines.action_runs: content checksum differs");

    // A write on the source after the catch-up (an app tier that was not stopped).
    await withClient(src.url, (c) => c.query("INSERT INTO public.empty_table VALUES (42)"));
    result = await verify();
    expect(result.comparison.mismatches).toContain("table public.empty_table: 1 rows on source, 0 on target");
  });

  it("settles a false alarm (a row rewritten with the same content) by the full recheck", async () => {
    await withClient(src.url, (c) => c.query("UPDATE public.blobs SET body = body WHERE id = 1"));
    const result = await verify();
    expect(result.recheckedInFull).toContain("public.blobs");
    expect(result.comparison.mismatches.filter((m) => m.includes("public.blobs"))).toEqual([]);
  });
});
