/**
 * The database providers as the Pulumi CLI runs them: serialized, loaded in another
 * process, `create` against the real test servers. Their outputs carry no password.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSerialized } from "../../testkit/runSerialized";
import { GATE_TYPES } from "../../lib/plan/names";
import { TEST_PG_PASSWORD } from "../../testkit/servers/localServers";
import { createDatabase, fillTinesLike, serverUrl, type TestDatabase } from "../../testkit/databases";

function createDb(which: "backup" | "migration", inputs: Record<string, unknown>) {
  return createSerialized(
    which === "backup"
      ? GATE_TYPES["database-backup"].resources.dump
      : GATE_TYPES["database-migration"].resources.copy,
    inputs,
    {
      timeoutMs: 110_000,
    },
  );
}

function migrationInputs(source: TestDatabase, target: TestDatabase) {
  return {
    sourceUrl: source.url,
    targetUrl: target.url,
    jobs: 2,
    allowNonEmptyTarget: false,
    noOwner: false,
    checksumMaxTableMiB: 1024,
    trigger: "",
  };
}

const dbs: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
});

describe("database providers, serialized and loaded as the Pulumi CLI does", () => {
  it("database-migration copies and verifies, with a summary and no secret in its outputs", async () => {
    const source = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "prov");
    const target = await createDatabase(serverUrl("TEST_PG_TARGET_URL"), "prov");
    dbs.push(source, target);
    await fillTinesLike(source.url, { rows: 200, largeRows: 1 });
    const run = await createDb("migration", migrationInputs(source, target));
    expect(run.ok, run.ok ? "" : run.stderr).toBe(true);
    if (!run.ok) return;
    expect(run.result.outs).toMatchObject({
      tables: 4,
      checksummedTables: 4,
      rows: "251",
      mismatches: 0,
      jobs: 2,
    });
    expect(run.result.outs.summary).toMatch(/compared: identical$/);
    expect(run.result.outs.target).toBe(target.url.replace(TEST_PG_PASSWORD, "***"));
    expect(JSON.stringify(run.result)).not.toContain(TEST_PG_PASSWORD);
    expect(run.stdout).toMatch(/restore: table tines\.events done/);
    expect(run.stdout).not.toContain(TEST_PG_PASSWORD);

    // A second run into the now non-empty target fails the update.
    const again = await createDb("migration", { ...migrationInputs(source, target), trigger: "2" });
    expect(again.ok).toBe(false);
  });

  // Fails today: serialized, lib/errors.ts's `this.name = new.target.name` throws a TypeError
  // and the refusal's message is lost (see the report to the lead). Flip to `it` once fixed.
  it("a refusal reaches the operator as its one-line message", async () => {
    const source = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "prov");
    const target = await createDatabase(serverUrl("TEST_PG_TARGET_URL"), "prov");
    dbs.push(source, target);
    await fillTinesLike(source.url, { rows: 5, largeRows: 0 });
    await fillTinesLike(target.url, { rows: 5, largeRows: 0 });
    const run = await createDb("migration", migrationInputs(source, target));
    expect(run.ok).toBe(false);
    if (!run.ok)
      expect(run.stderr.trim()).toMatch(/is not empty .*pass database\.migration\.allowNonEmptyTarget/);
  });

  it("database-backup writes the dump and reports location, size and sha256", async () => {
    const source = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "prov");
    dbs.push(source);
    await fillTinesLike(source.url, { rows: 20, largeRows: 0 });
    const dir = mkdtempSync(path.join(os.tmpdir(), "prov-backup-"));
    try {
      const run = await createDb("backup", {
        url: source.url,
        stack: "dev",
        phase: "shutdown",
        directory: dir,
        s3Bucket: "",
        s3Prefix: "",
        s3Region: "",
        s3Endpoint: "",
        compressLevel: 1,
        trigger: "",
      });
      expect(run.ok, run.ok ? "" : run.stderr).toBe(true);
      if (!run.ok) return;
      const outs = run.result.outs as { path: string; bytes: number; sha256: string; location: string };
      expect(outs.location).toBe(outs.path);
      expect(statSync(outs.path).size).toBe(outs.bytes);
      expect(run.result.id).toBe(`database-backup-${outs.sha256.slice(0, 16)}`);
      expect(JSON.stringify(run.result)).not.toContain(TEST_PG_PASSWORD);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
