/**
 * Issue 12, item 5: whatever way db-migrate or db-backup ends (SIGINT, SIGTERM, the
 * source server gone mid-copy, not enough space), no password file, dump or work directory
 * is left behind, and no pg_dump/pg_restore keeps running. Real signals to a real child
 * process, real PostgreSQL servers.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type RunningServer } from "../../testkit/servers/localServers";
import { pollFor, startCli, type CliChild } from "../../testkit/cliChild";
import { mountTinyTmpfs } from "../../testkit/tmpfs";
import {
  createDatabase,
  databaseUrl,
  fillTinesLike,
  serverUrl,
  withClient,
  type TestDatabase,
} from "../../testkit/databases";

const dbs: TestDatabase[] = [];
let source: TestDatabase;
const scratch: string[] = [];
beforeAll(async () => {
  source = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "intr");
  dbs.push(source);
  // Large enough that the dump and the copy take a while even on a fast machine.
  await fillTinesLike(source.url, { rows: 20_000, largeRows: 48 });
}, 180_000);
afterAll(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}

/** Every file under `root`, relative; tsx's compile cache (the child runs under tsx) aside. */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => !/^tsx-\d+/.test(f));
}

/** pg_dump / pg_restore processes whose arguments name `database`. */
function toolsRunningOn(database: string): string[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps.split("\n").filter((l) => /pg_dump|pg_restore/.test(l) && l.includes(database));
}

async function noToolsLeft(database: string): Promise<void> {
  await pollFor(() => (toolsRunningOn(database).length === 0 ? true : undefined), "pg tools to exit", 10_000);
}

async function freshTarget(): Promise<TestDatabase> {
  const t = await createDatabase(serverUrl("TEST_PG_TARGET_URL"), "intr");
  dbs.push(t);
  return t;
}

async function missingTarget(name: string): Promise<TestDatabase> {
  const server = serverUrl("TEST_PG_TARGET_URL");
  const t = {
    name,
    url: databaseUrl(server, name),
    drop: () =>
      withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
  dbs.push(t);
  return t;
}

async function databaseExists(name: string): Promise<boolean> {
  return withClient(
    serverUrl("TEST_PG_TARGET_URL"),
    async (c) => (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1,
  );
}

async function fileAppears(directory: string, suffix: string, what: string): Promise<void> {
  await pollFor(() => (filesUnder(directory).some((f) => f.endsWith(suffix)) ? true : undefined), what);
}

/** Sends `signal` to the command, which must end by it. */
async function endsBy(run: CliChild, signal: NodeJS.Signals): Promise<void> {
  run.child.kill(signal);
  expect((await run.exited).signal).toBe(signal);
}

/** db-migrate over an existing target (--allow-non-empty-target: the dump-and-restore path). */
function replacingMigration(work: string): string[] {
  return [
    ...["db-migrate", "--from", "env:SRC", "--to", "env:DST", "--allow-non-empty-target"],
    ...["--work-dir", work, "--jobs", "2"],
  ];
}

describe.each(["SIGINT", "SIGTERM"] as const)("db-migrate interrupted by %s", (signal) => {
  it("replacing a target: the dump directory goes, the dump processes stop", async () => {
    const target = await freshTarget();
    const work = dir("intr-work-");
    const tmp = dir("intr-tmp-");
    const run = startCli(replacingMigration(work), { SRC: source.url, DST: target.url, TMPDIR: tmp });
    // Interrupt once the dump has written data.
    await fileAppears(work, ".dat", "the dump to write data");
    await endsBy(run, signal);
    expect(filesUnder(work)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
    await noToolsLeft(source.name);
  });

  it("streaming into a new database: nothing left on disk", async () => {
    const target = await missingTarget(`intr_new_${signal.toLowerCase()}_${process.pid}`);
    const tmp = dir("intr-tmp-");
    const run = startCli(["db-migrate", "--from", "env:SRC", "--to", "env:DST", "--jobs", "2"], {
      SRC: source.url,
      DST: target.url,
      TMPDIR: tmp,
    });
    await run.waitFor(/^restore: table \S+ done/);
    await endsBy(run, signal);
    expect(filesUnder(tmp)).toEqual([]);
    await noToolsLeft(source.name);
  });
});

describe("db-backup interrupted", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("by %s leaves no partial archive", async (signal) => {
    const out = dir("intr-backup-");
    const tmp = dir("intr-tmp-");
    const run = startCli(
      [
        "db-backup",
        "--url",
        "env:SRC",
        "--dir",
        out,
        "--stack",
        "t",
        "--phase",
        "shutdown",
        "--compress",
        "9",
      ],
      { SRC: source.url, TMPDIR: tmp },
    );
    await fileAppears(out, ".partial", "the partial archive");
    await endsBy(run, signal);
    expect(filesUnder(out)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
    await noToolsLeft(source.name);
  });
});

describe("the source server gone mid-copy", () => {
  let server: RunningServer;
  let gone: TestDatabase;
  beforeAll(async () => {
    server = await startPostgres("gone");
    gone = await createDatabase(server.url, "gone");
    await fillTinesLike(gone.url, { rows: 20_000, largeRows: 48 });
  }, 180_000);
  afterAll(async () => {
    await server.stop();
  });

  it("streaming: fails with one line and drops the database it created", async () => {
    const name = `intr_cut_${process.pid}`;
    await missingTarget(name);
    const tmp = dir("intr-tmp-");
    const run = startCli(["db-migrate", "--from", "env:SRC", "--to", "env:DST", "--jobs", "2"], {
      SRC: gone.url,
      DST: databaseUrl(serverUrl("TEST_PG_TARGET_URL"), name),
      TMPDIR: tmp,
    });
    await run.waitFor(/^restore: table \S+ done/);
    // Cut every session of the run on the source, as a crash of the server would.
    await withClient(server.url, (c) =>
      c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [gone.name]),
    );
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr.filter(Boolean).at(-1)).toMatch(/^maint db-migrate: .*(terminat|connection)/i);
    expect(run.stderr.join("\n")).not.toMatch(/\n\s+at /);
    expect(filesUnder(tmp)).toEqual([]);
    expect(await databaseExists(name)).toBe(false);
  });

  it("replacing: fails with one line, removes the dump directory and drops the database it created", async () => {
    const name = `intr_gone_${process.pid}`;
    await missingTarget(name);
    const work = dir("intr-work-");
    const tmp = dir("intr-tmp-");
    const run = startCli(replacingMigration(work), {
      SRC: gone.url,
      DST: databaseUrl(serverUrl("TEST_PG_TARGET_URL"), name),
      TMPDIR: tmp,
    });
    await fileAppears(work, ".dat", "the dump");
    // Gone at once: every session cut, then no new ones (a smart shutdown refuses them).
    await withClient(server.url, (c) =>
      c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [gone.name]),
    );
    const stopping = server.stop();
    const { code } = await run.exited;
    await stopping;
    expect(code).toBe(1);
    const last = run.stderr.filter(Boolean).at(-1)!;
    expect(last).toMatch(/^maint db-migrate: pg_dump from the source failed: /);
    expect(run.stderr.join("\n")).not.toMatch(/\n\s+at /);
    expect(filesUnder(work)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
    expect(await databaseExists(name)).toBe(false);
  });
});

describe("not enough space", () => {
  it("db-backup refuses before writing and leaves its directory empty", async (context) => {
    const tiny = mountTinyTmpfs(os.tmpdir(), 1024);
    if (!tiny) return context.skip("mounting a tmpfs needs root");
    try {
      const run = startCli(
        [
          "db-backup",
          "--url",
          "env:SRC",
          "--dir",
          tiny.dir,
          "--stack",
          "t",
          "--phase",
          "shutdown",
          "--compress",
          "0",
        ],
        { SRC: source.url },
      );
      const { code } = await run.exited;
      expect(code).toBe(1);
      expect(run.stderr.filter(Boolean).at(-1)).toMatch(
        /^maint db-backup: not enough space in .* for the backup/,
      );
      expect(filesUnder(tiny.dir)).toEqual([]);
    } finally {
      tiny.unmount();
    }
  });
});
