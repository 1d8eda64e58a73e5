/**
 * The presync's gate functions, as the providers will call them: the input checks and diffs
 * (pure, for preview), the read-only pre-check, and one presync's life through the gates
 * against real PostgreSQL 15 (create, refresh, the shutdown's cut-over, delete), with no
 * password in any output.
 */
import { afterAll, describe, expect, it } from "vitest";
import { silentReporter } from "../progress";
import {
  checkPresyncInputs,
  precheckPresyncGate,
  presyncDiff,
  readPresyncGate,
  removePresyncGate,
  runCutoverGate,
  runPresyncGate,
  type PresyncGateInputs,
} from "./presyncGates";
import { createDatabase, serverUrl, withClient, type TestDatabase } from "../../testkit/databases";
import {
  databaseExists,
  dropPresyncDatabases,
  fillForPresync,
  NOTHING_LEFT,
  replicationLeft,
  targetDatabase,
} from "../../testkit/presync";

const SOURCE = "postgresql://tines:pw-one@db-old:5432/tines";
const TARGET = "postgresql://tines:pw-two@db-new:5432/tines";

describe("presync gate inputs", () => {
  it("name each missing or malformed input", () => {
    expect(
      checkPresyncInputs({ sourceUrl: "", jobs: -1, checksumMaxTableMiB: 10, catchUpTimeoutSeconds: 0 }),
    ).toEqual([
      { property: "sourceUrl", reason: "database.url is required" },
      { property: "targetUrl", reason: "database.migration.targetUrl is required" },
      { property: "stack", reason: "the stack name is required" },
      { property: "jobs", reason: "must be a whole number from 0 to 64" },
      { property: "catchUpTimeoutSeconds", reason: "must be a whole number from 1 to 86400" },
      { property: "trigger", reason: "must be a string" },
    ]);
  });

  it("replace the presync for a new target or source (the old one removed first), set it up again for a new trigger", () => {
    const olds = {
      source: "postgresql://tines:***@db-old:5432/tines",
      target: "postgresql://tines:***@db-new:5432/tines",
      trigger: "",
    };
    expect(presyncDiff(olds, { sourceUrl: SOURCE, targetUrl: TARGET, trigger: "" })).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: true,
    });
    expect(
      presyncDiff(olds, {
        sourceUrl: SOURCE,
        targetUrl: "postgresql://tines:pw@db-newer:5432/tines",
        trigger: "",
      }),
    ).toEqual({
      changes: true,
      replaces: ["targetUrl"],
      deleteBeforeReplace: true,
    });
    expect(presyncDiff(olds, { sourceUrl: SOURCE, targetUrl: TARGET, trigger: "again" }).changes).toBe(true);
  });
});

describe("one presync through the gates", () => {
  const sources: TestDatabase[] = [];
  const targets: TestDatabase[] = [];
  afterAll(() => dropPresyncDatabases(sources, targets));

  it("create, refresh, cut-over and delete; outputs without a password", async () => {
    const src = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "pg");
    sources.push(src);
    await fillForPresync(src.url, { rows: 500, largeRows: 1 });
    const dst = targetDatabase(`${src.name}_new`);
    targets.push(dst);
    const inputs: PresyncGateInputs = {
      sourceUrl: src.url,
      targetUrl: dst.url,
      stack: "prod",
      jobs: 2,
      noOwner: false,
      checksumMaxTableMiB: 10240,
      catchUpTimeoutSeconds: 60,
      trigger: "",
    };
    const password = new URL(src.url).password;

    expect(await precheckPresyncGate(inputs, "start")).toEqual({ problems: [], warnings: [] });
    // Before the presync, the shutdown's pre-check refuses a cut-over: nothing to cut over to.
    expect((await precheckPresyncGate(inputs, "cutover")).problems).toEqual([
      expect.stringMatching(
        /is not a presync copy \(no presync marker\): nothing to cut over; set database\.migration\.presync true in phase running first/,
      ),
    ]);

    const created = await runPresyncGate(inputs, silentReporter);
    expect(created).toMatchObject({
      state: "streaming",
      tables: 5,
      stack: "prod",
      lagBytes: expect.any(Number),
    });
    expect(JSON.stringify(created)).not.toContain(password);

    await withClient(src.url, (c) => c.query("INSERT INTO tines.stories (name) VALUES ('while running')"));
    const refreshed = await readPresyncGate(inputs, created);
    expect(refreshed.state).toBe("streaming");
    expect(refreshed.readAt >= created.readAt).toBe(true);
    expect((await precheckPresyncGate(inputs, "cutover")).problems).toEqual([]);

    const cut = await runCutoverGate(
      { ...inputs, allowNonEmptyTarget: false, catchUpTimeoutSeconds: 60 },
      silentReporter,
    );
    expect(cut).toMatchObject({ mismatches: 0, verification: "changed rows", tables: 5 });
    expect(cut.summary).toMatch(/identical$/);
    expect(JSON.stringify(cut)).not.toContain(password);
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    expect((await readPresyncGate(inputs, created)).state).toBe("done");

    // The resource deleted after the cut-over: the copy, now the live database, is kept.
    await removePresyncGate(inputs, silentReporter);
    expect(await databaseExists(serverUrl("TEST_PG_TARGET_URL"), dst.name)).toBe(true);
  }, 120_000);
});
