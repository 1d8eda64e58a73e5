import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { backupSuffix, readEnvValue, rewriteEnvFile, rewriteEnvText } from "./envFile";

const SAMPLE = [
  "# Tines environment",
  "TINES_VERSION=v44.1.0",
  "",
  "export DATABASE_HOST = old-db.internal   # primary",
  'REDIS_URL="redis://:p%40ss@old-redis:6379/1"',
  "DATABASE_NAME='tines_production'",
  "SEED_EMAIL=ops@example.com",
  "",
].join("\n");

describe("rewriteEnvText", () => {
  it("changes only the two values, keeping export, spacing, quoting and inline comments", () => {
    const result = rewriteEnvText(SAMPLE, {
      DATABASE_HOST: "new-db.internal",
      REDIS_URL: "redis://new-redis:6379/1",
    });
    expect(result.changed).toBe(true);
    expect(result.previous).toEqual({
      DATABASE_HOST: "old-db.internal",
      REDIS_URL: "redis://:p%40ss@old-redis:6379/1",
    });
    const before = SAMPLE.split("\n");
    const after = result.text.split("\n");
    expect(after).toHaveLength(before.length);
    expect(after[3]).toBe("export DATABASE_HOST = new-db.internal   # primary");
    expect(after[4]).toBe('REDIS_URL="redis://new-redis:6379/1"');
    for (const i of [0, 1, 2, 5, 6, 7]) expect(after[i]).toBe(before[i]);
  });

  it("appends missing keys and keeps the final newline as it was", () => {
    const withNewline = rewriteEnvText("A=1\n", { DATABASE_HOST: "db" });
    expect(withNewline.text).toBe("A=1\nDATABASE_HOST=db\n");
    expect(withNewline.previous.DATABASE_HOST).toBeUndefined();
    expect(rewriteEnvText("A=1", { DATABASE_HOST: "db" }).text).toBe("A=1\nDATABASE_HOST=db");
    expect(rewriteEnvText("", { DATABASE_HOST: "db" }).text).toBe("DATABASE_HOST=db\n");
  });

  it("reports no change when the values are already in place, even in another quoting style", () => {
    const text = "DATABASE_HOST='db.internal'\r\nREDIS_URL=redis://r:6379/1\r\n";
    const result = rewriteEnvText(text, { DATABASE_HOST: "db.internal", REDIS_URL: "redis://r:6379/1" });
    expect(result.changed).toBe(false);
    expect(result.text).toBe(text);
  });

  it("keeps CRLF line endings and quotes values that need it", () => {
    const result = rewriteEnvText("X=1\r\nREDIS_URL=old\r\n", { REDIS_URL: 'redis://u:a b#"$@h:1/0' });
    expect(result.text).toBe('X=1\r\nREDIS_URL="redis://u:a b#\\"\\$@h:1/0"\r\n');
    expect(readEnvValue(result.text, "REDIS_URL")).toBe('redis://u:a b#"$@h:1/0');
  });

  it("rewrites every assignment of a duplicated key (Compose uses the last)", () => {
    const result = rewriteEnvText("DATABASE_HOST=a\nDATABASE_HOST=b\n", { DATABASE_HOST: "c" });
    expect(result.text).toBe("DATABASE_HOST=c\nDATABASE_HOST=c\n");
    expect(result.previous.DATABASE_HOST).toBe("b");
  });

  it("does not touch a commented-out assignment or a similarly named key", () => {
    const text = "# DATABASE_HOST=commented\nDATABASE_HOST_REPLICA=r\n";
    expect(rewriteEnvText(text, { DATABASE_HOST: "x" }).text).toBe(`${text}DATABASE_HOST=x\n`);
  });
});

describe("rewriteEnvFile (real files)", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "endpoints-env-"));
    dirs.push(dir);
    return dir;
  };

  it("writes atomically, keeps the mode and a timestamped backup of the previous file", () => {
    const dir = tmp();
    const file = path.join(dir, ".env");
    writeFileSync(file, SAMPLE, { mode: 0o640 });
    const inodeBefore = statSync(file).ino;
    const now = new Date("2026-11-25T13:04:05.678Z");
    const result = rewriteEnvFile(file, { DATABASE_HOST: "new-db.internal" }, now);
    expect(result.changed).toBe(true);
    expect(result.backupPath).toBe(`${file}.bak-20261125T130405Z`);
    expect(readFileSync(result.backupPath!, "utf8")).toBe(SAMPLE);
    expect(readEnvValue(readFileSync(file, "utf8"), "DATABASE_HOST")).toBe("new-db.internal");
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(statSync(result.backupPath!).mode & 0o777).toBe(0o640);
    // A rename, not an in-place write: readers never see a half-written file.
    expect(statSync(file).ino).not.toBe(inodeBefore);
    expect(readdirSync(dir).sort()).toEqual([".env", ".env.bak-20261125T130405Z"]);

    // A second change in the same second keeps both backups.
    const second = rewriteEnvFile(file, { DATABASE_HOST: "third-db.internal" }, now);
    expect(second.backupPath).toBe(`${file}.bak-20261125T130405Z-1`);
    expect(readEnvValue(readFileSync(second.backupPath!, "utf8"), "DATABASE_HOST")).toBe("new-db.internal");
  });

  it("leaves the file and its directory alone when nothing changes", () => {
    const dir = tmp();
    const file = path.join(dir, ".env");
    writeFileSync(file, "DATABASE_HOST=db\n");
    const mtime = statSync(file).mtimeMs;
    const result = rewriteEnvFile(file, { DATABASE_HOST: "db" });
    expect(result).toMatchObject({ changed: false, previous: { DATABASE_HOST: "db" } });
    expect(result.backupPath).toBeUndefined();
    expect(statSync(file).mtimeMs).toBe(mtime);
    expect(readdirSync(dir)).toEqual([".env"]);
  });

  it("fails on a missing file without creating anything", () => {
    const dir = tmp();
    expect(() => rewriteEnvFile(path.join(dir, ".env"), { DATABASE_HOST: "db" })).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("backupSuffix sorts by time", () => {
    expect(backupSuffix(new Date("2026-01-02T03:04:05Z"))).toBe("20260102T030405Z");
  });
});
