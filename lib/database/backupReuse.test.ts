/**
 * A retried shutdown and its backup (issue 20, item 9): within one window, the dump of the
 * earlier update is reused when it is still where it was written with the same sha256 and no
 * transaction has run on the server since it began; otherwise a new dump is taken and the log
 * says why. A PostgreSQL server of its own (the next transaction id is server-wide, and other
 * test files write to the shared ones), with autovacuum off so that only the test writes.
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type RunningServer } from "../../testkit/servers/localServers";
import { createDatabase, fillTinesLike, withClient, type TestDatabase } from "../../testkit/databases";
import { runBackupGate, type BackupGateInputs, type BackupGateOutputs } from "./gates";
import { recordingReporter } from "../../testkit/recordingReporter";

let server: RunningServer;
let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  server = await startPostgres("backup-reuse");
  await withClient(server.url, async (c) => {
    await c.query("ALTER SYSTEM SET autovacuum = off");
    await c.query("SELECT pg_reload_conf()");
  });
  db = await createDatabase(server.url, "reuse");
  await fillTinesLike(db.url, { rows: 500, largeRows: 1 });
  dir = mkdtempSync(path.join(os.tmpdir(), "backup-reuse-"));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const inputs = (trigger: string, windowStartedAt = "2026-12-07T13:00:00.000Z"): BackupGateInputs => ({
  url: db.url,
  stack: "prod",
  phase: "shutdown",
  directory: dir,
  compressLevel: 1,
  trigger,
  windowStartedAt,
});

const asPrevious = (outputs: BackupGateOutputs) => outputs as unknown as Record<string, unknown>;

describe("the backup of a retried shutdown", () => {
  it("reuses this window's verified dump while nothing has written, and says why it takes a new one", async () => {
    const first = await runBackupGate(inputs("update-1"), recordingReporter());
    expect(first.reused).toBe(false);
    expect(readdirSync(dir)).toHaveLength(1);

    // A retry in the same window, nothing written since: no second dump.
    const retry = recordingReporter();
    const second = await runBackupGate(inputs("update-2"), retry, {}, { previous: asPrevious(first) });
    expect(second).toMatchObject({
      reused: true,
      path: first.path,
      sha256: first.sha256,
      trigger: "update-2",
    });
    expect(retry.lines).toEqual([
      expect.stringMatching(
        /^backup: reusing .* from this window's earlier update: its sha256 [0-9a-f]{64} matches and no transaction has run on the server since it began$/,
      ),
    ]);
    expect(readdirSync(dir)).toHaveLength(1);

    // Someone wrote: a new dump, and the log says why.
    await withClient(db.url, (c) =>
      c.query("INSERT INTO tines.stories (name) VALUES ('written after the dump')"),
    );
    const written = recordingReporter();
    const third = await runBackupGate(inputs("update-3"), written, {}, { previous: asPrevious(second) });
    expect(third.reused).toBe(false);
    expect(third.sha256).not.toBe(first.sha256);
    expect(written.lines[0]).toMatch(
      /^backup: taking a new dump rather than reusing this window's earlier one: transactions have run on the server since the earlier dump began/,
    );
    expect(readdirSync(dir)).toHaveLength(2);

    // The file changed on disk: a new dump.
    appendFileSync(third.path, "x");
    const changed = recordingReporter();
    const fourth = await runBackupGate(inputs("update-4"), changed, {}, { previous: asPrevious(third) });
    expect(fourth.reused).toBe(false);
    expect(changed.lines[0]).toMatch(/taking a new dump .*: the earlier dump .* changed size$/);

    // Another window never reuses, and needs no explanation.
    const next = recordingReporter();
    const fifth = await runBackupGate(
      inputs("update-5", "2026-12-08T09:00:00.000Z"),
      next,
      {},
      {
        previous: asPrevious(fourth),
      },
    );
    expect(fifth.reused).toBe(false);
    expect(next.lines.some((l) => /reusing|rather than reusing/.test(l))).toBe(false);
  }, 120_000);
});
