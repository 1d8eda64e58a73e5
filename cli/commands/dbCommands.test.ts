/**
 * db-migrate and db-backup end to end as child processes, against the test PostgreSQL
 * servers. Through `cli/maint.ts` once the commands are registered in cli/commands.ts;
 * until then through the same dispatch (one line on stderr, exit 1) around the module.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TEST_PG_PASSWORD } from "../../testkit/servers/localServers";
import { runCli } from "../../testkit/cliChild";
import { fillTinesLike, withClient } from "../../testkit/databases";
import { databasesPerTest } from "../../testkit/testScope";

/** `maint <command>` as an operator runs it (cli/maint.ts in a child process). */
function maint(command: "db-migrate" | "db-backup", args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli([command, ...args], { env });
}

const { database: db } = databasesPerTest("cli");

describe("maint db-migrate", () => {
  it("copies, prints the comparison and keeps passwords out of every output", async () => {
    const source = await db("TEST_PG_SOURCE_URL");
    const target = await db("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 300, largeRows: 1 });
    const result = await maint(
      "db-migrate",
      ["--from", "env:SRC_URL", "--to", "env:DST_URL", "--jobs", "2"],
      {
        SRC_URL: source.url,
        DST_URL: target.url,
      },
    );
    expect(result.stderr).not.toMatch(/warning/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^tines\.events\s+300\s+300\s+match$/m);
    expect(result.stdout).toMatch(/4 tables \(4 checksummed\), 351 rows, .* compared: identical/);
    expect(result.stderr).toMatch(/^restore: table tines\.events done \(\d\/4 tables/m);
    expect(result.stdout + result.stderr).not.toContain(TEST_PG_PASSWORD);
  });

  it("refuses a non-empty target with one line and exit 1, leaving it untouched", async () => {
    const source = await db("TEST_PG_SOURCE_URL");
    const target = await db("TEST_PG_TARGET_URL");
    await fillTinesLike(source.url, { rows: 5, largeRows: 0 });
    await withClient(target.url, (c) =>
      c.query("CREATE TABLE precious (v int); INSERT INTO precious VALUES (42)"),
    );
    const result = await maint("db-migrate", ["--from", source.url, "--to", target.url]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines.at(-1)).toMatch(
      /^maint db-migrate: target PostgreSQL 127\.0\.0\.1:\d+ database cli_\w+ is not empty \(1 objects, e\.g\. table public\.precious\); refusing and leaving it untouched; pass --allow-non-empty-target/,
    );
    // The only other lines: the warnings about passwords given on the command line.
    expect(lines.slice(0, -1).every((l) => l.startsWith("warning: --"))).toBe(true);
    expect(result.stderr).not.toContain(TEST_PG_PASSWORD);
    const left = await withClient(target.url, (c) =>
      c.query("SELECT count(*)::int AS n, sum(v)::int AS s FROM precious"),
    );
    expect(left.rows[0]).toEqual({ n: 1, s: 42 });
  });

  it.each([
    [["--from", "postgresql://u:p@h/d"], /--to is required/],
    [
      ["--from", "postgresql://u:p@h/d", "--to", "postgresql://u:p@i/d", "--jobs", "0"],
      /--jobs must be an integer >= 1, got "0"/,
    ],
    [["--from", "x", "--to", "y", "--fast"], /Unknown option '--fast'.*usage: db-migrate --from/],
    [
      ["--from", "ftp://h/d", "--to", "postgresql://u@h/d"],
      /--from: must be a postgresql:\/\/ URL, got scheme ftp:/,
    ],
  ])("rejects bad flags %j with one line", async (args, message) => {
    const result = await maint("db-migrate", args);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("maint db-backup", () => {
  it("writes the dump and prints where, its size and sha256", async () => {
    const source = await db("TEST_PG_SOURCE_URL");
    await fillTinesLike(source.url, { rows: 50, largeRows: 0 });
    const dir = mkdtempSync(path.join(os.tmpdir(), "cli-backup-"));
    try {
      const result = await maint(
        "db-backup",
        ["--url", "env:DB_URL", "--dir", dir, "--stack", "dev", "--json"],
        { DB_URL: source.url },
      );
      expect(result.code).toBe(0);
      const out = JSON.parse(result.stdout) as { path: string; bytes: number; sha256: string };
      expect(readdirSync(dir)).toEqual([path.basename(out.path)]);
      expect(out.path).toMatch(/dev-backup-cli_\w+-\d{8}T\d{6}Z\.dump$/);
      expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(result.stderr).toMatch(/backup: table tines\.events done/);
      const missing = await maint("db-backup", ["--url", "env:DB_URL"], { DB_URL: source.url });
      expect(missing.stderr.trim()).toMatch(/^maint db-backup: --dir or --s3-bucket is required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
