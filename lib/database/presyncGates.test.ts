/**
 * The presync's gate functions, as the providers will call them: the input checks and diffs
 * (pure, for preview), the read-only pre-check, and one presync's life through the gates
 * against real PostgreSQL 15 (create, refresh, the shutdown's cut-over, delete), with no
 * password in any output.
 */
import { afterAll, describe, expect, it } from "vitest";
import { silentReporter } from "../progress";
import {
  applyPresyncResource,
  checkPresyncInputs,
  precheckPresyncGate,
  precheckPresyncResource,
  presyncDiff,
  presyncResourceDiff,
  readPresyncGate,
  removePresyncGate,
  runCutoverGate,
  runPresyncGate,
  type PresyncGateInputs,
  type PresyncResourceInputs,
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

/**
 * Makes a filled source and its target (not created: the presync creates it) with the gate's
 * inputs for them; every pair it made is dropped, replication included, after the describe
 * block that called this.
 */
function presyncPairs() {
  const sources: TestDatabase[] = [];
  const targets: TestDatabase[] = [];
  afterAll(() => dropPresyncDatabases(sources, targets));
  return async (prefix: string, rows: number) => {
    const src = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), prefix);
    sources.push(src);
    await fillForPresync(src.url, { rows, largeRows: 1 });
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
    return { src, dst, inputs };
  };
}

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

describe("the presync resource's diff", () => {
  it("has work in a new phase: the shutdown stands, the startup after it checks for leftovers", () => {
    const olds = {
      source: "postgresql://tines:***@db-old:5432/tines",
      target: "postgresql://tines:***@db-new:5432/tines",
      trigger: "",
      phase: "running",
    };
    const news = { sourceUrl: SOURCE, targetUrl: TARGET, trigger: "" };
    expect(presyncResourceDiff(olds, { ...news, phase: "running" }).changes).toBe(false);
    expect(presyncResourceDiff(olds, { ...news, phase: "shutdown" })).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: true,
    });
  });
});

describe("one presync through the gates", () => {
  const presyncPair = presyncPairs();

  it("create, refresh, cut-over and delete; outputs without a password", async () => {
    const { src, dst, inputs } = await presyncPair("pg", 500);
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

describe("the presync resource through a window", () => {
  const presyncPair = presyncPairs();

  it("sets up in running, stands in shutdown, and the startup refuses a slot left on the source until the cut-over ran", async () => {
    const { src, dst, inputs } = await presyncPair("pr", 300);
    const running: PresyncResourceInputs = { ...inputs, phase: "running" };
    const shutdown: PresyncResourceInputs = { ...running, phase: "shutdown" };

    // A shutdown with presync true but nothing set up: refused, nothing created.
    await expect(applyPresyncResource(undefined, shutdown, silentReporter)).rejects.toThrow(
      /database\.migration\.presync is true but this stack set up no presync; set it up with phase running before the window/,
    );
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);

    expect(await precheckPresyncResource(running, {})).toEqual([]);
    const set = await applyPresyncResource(undefined, running, silentReporter);
    expect(set).toMatchObject({ state: "streaming", phase: "running", sourceUrl: src.url, tables: 5 });
    // A later update in running, or the shutdown's preview: nothing to check, nothing done.
    expect(await precheckPresyncResource(running, running)).toEqual([]);
    const stood = await applyPresyncResource(set, shutdown, silentReporter);
    expect(stood).toEqual({ ...set, phase: "shutdown" });
    expect((await replicationLeft(src.url, dst.url)).slots).toHaveLength(1);

    // The startup after a window whose cut-over never finished (a SIGKILL): refused at
    // preview and in the update, naming the recovery; nothing is changed.
    const refusal =
      /refused to start Tines: the presync's replication is still on the source after the window: .*finish the cut-over \(phase shutdown again, pulumi up\) or give the window up and remove it/;
    expect(await precheckPresyncResource(running, shutdown)).toEqual([expect.stringMatching(refusal)]);
    await expect(applyPresyncResource(stood, running, silentReporter)).rejects.toThrow(refusal);
    expect((await replicationLeft(src.url, dst.url)).slots).toHaveLength(1);

    const cut = await runCutoverGate({ ...running, allowNonEmptyTarget: false }, silentReporter);
    expect(cut.mismatches).toBe(0);
    expect(await precheckPresyncResource(running, shutdown)).toEqual([]);
    const started = await applyPresyncResource(stood, running, silentReporter);
    expect(started).toMatchObject({ phase: "running", state: "done", name: set.name });
    expect(await replicationLeft(src.url, dst.url)).toEqual(NOTHING_LEFT);
    // database.url pointed at the new database with presync still true: a new presync into
    // the live database itself, refused at preview.
    await expect(precheckPresyncResource({ ...running, sourceUrl: dst.url }, running)).rejects.toThrow(
      /database\.migration\.targetUrl: is the same database as database\.url .*it must be a new instance/,
    );
    // Spent: a later update in running sets nothing up again.
    expect(await applyPresyncResource(started, running, silentReporter)).toEqual(started);
  }, 120_000);
});
