import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors";
import { childEnv, connectionArgs, parsePgUrl, withDatabase } from "./connection";
import { checkVersions, parseToolMajor, serverMajor, findPgTools, isPgWrapper } from "./pgTools";
import { tableProgress, parsePgLine } from "./progress";
import { compareDescriptions, formatComparison, type DatabaseDescription } from "./inspect";
import { backupDiff, migrationDiff } from "./gates";

describe("connection", () => {
  it("parses a URL into libpq flags without the password", () => {
    const t = parsePgUrl(
      "postgresql://tines%40corp:p%3Aw@db.example:6543/tines_prod?sslmode=require",
      "--from",
    );
    expect(t).toMatchObject({
      host: "db.example",
      port: 6543,
      user: "tines@corp",
      password: "p:w",
      database: "tines_prod",
      sslmode: "require",
    });
    expect(connectionArgs(t)).toEqual([
      "-h",
      "db.example",
      "-p",
      "6543",
      "-U",
      "tines@corp",
      "-d",
      "tines_prod",
    ]);
    // Never the URL: the engine prints a secret config value as [secret] (issue 20, item 6).
    expect(t.display).toBe("PostgreSQL db.example:6543 database tines_prod");
    expect(withDatabase(t, "postgres").display).toBe("PostgreSQL db.example:6543 database postgres");
  });

  it.each([
    ["not a url", /--to: must be a postgresql:\/\/user:password@host:port\/database URL/],
    ["mysql://u:p@h/db", /--to: must be a postgresql:\/\/ URL, got scheme mysql:/],
    ["postgresql://u:p@h:5432/", /--to: must name user, host and database/],
    [
      "postgresql://u:p@h/db?sslmode=maybe",
      /--to: sslmode must be one of: disable, allow, prefer, require, verify-ca, verify-full/,
    ],
  ])("rejects %s", (url, message) => {
    expect(() => parsePgUrl(url, "--to")).toThrow(ConfigError);
    expect(() => parsePgUrl(url, "--to")).toThrow(message);
  });

  it("hands a child its password through the environment only, never a file", () => {
    const t = parsePgUrl("postgresql://u:a%3Ab%5Cc@h:1/d", "x");
    const saved = { ...process.env };
    process.env.PGPASSFILE = "/somewhere/pgpass";
    process.env.PGPASSWORD = "inherited";
    try {
      const env = childEnv({ ...t, sslmode: "verify-full" });
      expect(env.PGPASSWORD).toBe("a:b\\c");
      expect(env.PGPASSFILE).toBeUndefined();
      expect(env.PGSSLMODE).toBe("verify-full");
      const none = childEnv({ ...t, password: undefined });
      expect(none.PGPASSWORD).toBeUndefined();
      expect(none.PGPASSFILE).toBe("/dev/null");
    } finally {
      process.env = saved;
    }
  });
});

describe("pg tool versions", () => {
  it("reads majors", () => {
    expect(parseToolMajor("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)")).toBe(15);
    expect(parseToolMajor("pg_restore (PostgreSQL) 16beta2")).toBe(16);
    expect(parseToolMajor("something else")).toBeUndefined();
    expect(serverMajor(150018)).toBe(15);
    expect(serverMajor(170002)).toBe(17);
  });

  it("accepts tools as new as both servers and refuses older tools or a downgrade", () => {
    expect(checkVersions(15, 15, 15)).toBeUndefined();
    expect(checkVersions(16, 14, 16)).toBeUndefined();
    expect(checkVersions(15, 16, 16)).toMatch(
      /pg_dump\/pg_restore 15 are older than the servers \(source 16, target 16\); install the PostgreSQL 16 client tools/,
    );
    expect(checkVersions(16, 15, 16)).toBeUndefined();
    expect(checkVersions(15, 15, 16)).toMatch(/older than the servers \(source 15, target 16\)/);
    expect(checkVersions(16, 16, 15)).toMatch(/target server is PostgreSQL 15, older than the source's 16/);
  });

  it("finds this machine's tools and says what it found when they are too old", () => {
    expect(findPgTools(15).major).toBeGreaterThanOrEqual(15);
    expect(() => findPgTools(99)).toThrow(
      /pg_dump\/pg_restore 99 or newer are needed for these servers; found only .*\(15\)/,
    );
    expect(() => findPgTools(15, "/nonexistent")).toThrow(/not found in \/nonexistent/);
  });

  it("takes the versioned binaries over Debian's pg_wrapper on PATH (a Perl start per call)", () => {
    // This machine's setup (scripts/setup.sh) installs Debian's postgresql-15: /usr/bin/pg_dump is the wrapper.
    expect(isPgWrapper("/usr/bin/pg_dump")).toBe(true);
    expect(isPgWrapper("/usr/lib/postgresql/15/bin/pg_dump")).toBe(false);
    const tools = findPgTools(15);
    expect(isPgWrapper(tools.pgDump) || isPgWrapper(tools.pgRestore)).toBe(false);
    expect(tools.pgDump).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin\/pg_dump$/);
    // An explicit directory is taken as given, wrapper or not.
    expect(findPgTools(15, "/usr/bin").pgDump).toBe("/usr/bin/pg_dump");
  });
});

describe("progress from pg_dump/pg_restore -v", () => {
  it("parses table starts and ends", () => {
    expect(parsePgLine('pg_dump: dumping contents of table "public.t1"')).toEqual({
      kind: "start",
      table: "public.t1",
    });
    expect(parsePgLine('pg_restore: processing data for table "tines.events"')).toEqual({
      kind: "start",
      table: "tines.events",
    });
    expect(parsePgLine("pg_restore: finished item 3346 TABLE DATA events")).toEqual({
      kind: "done",
      table: "events",
    });
    expect(parsePgLine('pg_restore: creating INDEX "public.i"')).toBeUndefined();
  });

  it("reports each table with bytes done and time left", () => {
    const lines: string[] = [];
    const p = tableProgress(
      "restore",
      new Map([
        ["public.a", 1024],
        ["tines.a", 3072],
      ]),
      { info: (m) => lines.push(m), warn: () => undefined },
    );
    p.line('pg_restore: processing data for table "tines.a"');
    p.line("pg_restore: finished item 1 TABLE DATA a");
    p.line('pg_restore: processing data for table "public.a"');
    p.close();
    expect(lines).toEqual([
      "restore: table tines.a started (3.0 KiB)",
      expect.stringMatching(
        /^restore: table tines\.a done \(1\/2 tables, 3\.0 KiB of 4\.0 KiB, ~\d+s left\)$/,
      ),
      "restore: table public.a started (1.0 KiB)",
      "restore: table public.a done (2/2 tables, 4.0 KiB of 4.0 KiB)",
    ]);
  });
});

function description(overrides: Partial<DatabaseDescription> = {}): DatabaseDescription {
  return {
    serverVersionNum: 150000,
    schemas: ["public"],
    extensions: { plpgsql: "1.0" },
    tables: [{ name: "public.t", bytes: 1, rows: "2", checksum: "9" }],
    sequences: { "public.s": "5/called" },
    definitions: { "columns public.t": "r: id integer" },
    owners: { "relation public.t": "tines" },
    roles: ["tines"],
    ...overrides,
  };
}

describe("compareDescriptions", () => {
  it("finds nothing between equal descriptions and prints them", () => {
    const c = compareDescriptions(description(), description(), { compareOwners: true });
    expect(c.mismatches).toEqual([]);
    expect(formatComparison(c)).toMatch(
      /1 tables \(1 checksummed\), 2 rows, 1 sequences, 1 schemas, 1 extensions, 1 definitions compared: identical$/,
    );
  });

  it("names every kind of difference", () => {
    const target = description({
      extensions: { plpgsql: "1.0", citext: "1.6" },
      tables: [
        { name: "public.t", bytes: 1, rows: "3", checksum: "8" },
        { name: "public.extra", bytes: 1, rows: "0" },
      ],
      sequences: { "public.s": "4/called" },
      definitions: {},
      owners: { "relation public.t": "postgres" },
    });
    const c = compareDescriptions(description(), target, { compareOwners: true });
    expect(c.mismatches).toEqual([
      "extension citext: only on target",
      "definition columns public.t: missing on target",
      "sequence public.s: source 5/called, target 4/called",
      "owner of relation public.t: source tines, target postgres",
      "table public.t: 2 rows on source, 3 on target",
      "table public.t: content checksum differs",
      "table public.extra: only on target",
    ]);
    expect(
      compareDescriptions(description(), { ...description(), owners: {} }, { compareOwners: false })
        .mismatches,
    ).toEqual([]);
    expect(formatComparison(c)).toContain("MISMATCH table public.extra: only on target");
  });
});

describe("gate diffs", () => {
  it("re-run only for a new trigger or destination", () => {
    const olds = { trigger: "", destination: "/b", target: "postgresql://u:***@new/db" };
    expect(backupDiff(olds, { trigger: "", directory: "/b" }).changes).toBe(false);
    expect(backupDiff(olds, { trigger: "2", directory: "/b" }).changes).toBe(true);
    expect(backupDiff(olds, { trigger: "", directory: "/c" }).changes).toBe(true);
    expect(migrationDiff(olds, { trigger: "", targetUrl: "postgresql://u:pw@new/db" }).changes).toBe(false);
    expect(migrationDiff(olds, { trigger: "", targetUrl: "postgresql://u:pw@newer/db" }).changes).toBe(true);
  });
});
