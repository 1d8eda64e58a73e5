import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_PG_PASSWORD } from "../../testkit/servers/localServers";
import { backupDatabase, backupFileName, s3Client, s3Key, uploadFile } from "./backup";
import { parsePgUrl } from "./connection";
import { verifyCopy } from "./migrate";
import { createDatabase, fillTinesLike, serverUrl, type TestDatabase } from "../../testkit/databases";
import { makeImmutable } from "../../testkit/immutable";
import { recordingReporter } from "../../testkit/recordingReporter";

function awsEndpoint(): string {
  const endpoint = process.env.TEST_AWS_ENDPOINT;
  if (!endpoint)
    throw new Error("TEST_AWS_ENDPOINT is not set: moto (testkit/servers/globalSetup.ts) did not start");
  return endpoint;
}

describe("backup names", () => {
  it("names the file with stack, phase, database and UTC time", () => {
    expect(backupFileName("prod", "shutdown", "tines", new Date("2026-11-25T13:04:05.678Z"))).toBe(
      "prod-shutdown-tines-20261125T130405Z.dump",
    );
    expect(backupFileName("org/prod", "shutdown", "a b", new Date(0))).toBe(
      "org_prod-shutdown-a_b-19700101T000000Z.dump",
    );
    expect(s3Key("", "x.dump")).toBe("x.dump");
    expect(s3Key("/backups/tines/", "x.dump")).toBe("backups/tines/x.dump");
  });
});

describe("backupDatabase against a real PostgreSQL server and moto", () => {
  const dbs: TestDatabase[] = [];
  let source: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    source = await createDatabase(serverUrl("TEST_PG_SOURCE_URL"), "bak");
    dbs.push(source);
    await fillTinesLike(source.url, { rows: 400, largeRows: 2 });
    process.env.AWS_ACCESS_KEY_ID ??= "test";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  });
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it("never writes over an earlier dump taken within the same second", async () => {
    const into = mkdtempSync(path.join(os.tmpdir(), "bak-same-second-"));
    try {
      const now = new Date("2026-12-07T13:00:00.100Z");
      const options = {
        url: source.url,
        directory: into,
        stack: "dev",
        phase: "shutdown",
        reporter: recordingReporter(),
      };
      const first = await backupDatabase({ ...options, now });
      const before = readFileSync(first.path!);
      const second = await backupDatabase({ ...options, now: new Date("2026-12-07T13:00:00.900Z") });
      expect(second.name).toBe(first.name.replace(/\.dump$/, "-2.dump"));
      expect(readdirSync(into).sort()).toEqual([first.name, second.name].sort());
      expect(readFileSync(first.path!).equals(before)).toBe(true);
    } finally {
      rmSync(into, { recursive: true, force: true });
    }
  });

  it("writes a restorable archive with its size and sha256, and reports progress per table", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "bak-test-"));
    const reporter = recordingReporter();
    const result = await backupDatabase({
      url: source.url,
      directory: path.join(dir, "nested"),
      stack: "dev",
      phase: "shutdown",
      reporter,
    });
    expect(result.path).toBe(path.join(dir, "nested", result.name));
    expect(result.name).toMatch(new RegExp(`^dev-shutdown-${source.name}-\\d{8}T\\d{6}Z\\.dump$`));
    const content = readFileSync(result.path!);
    expect(result.bytes).toBe(content.length);
    expect(result.sha256).toBe(createHash("sha256").update(content).digest("hex"));
    expect((statSync(result.path!).mode & 0o777).toString(8)).toBe("600");
    expect(readdirSync(path.join(dir, "nested"))).toEqual([result.name]);
    expect(reporter.lines.some((l) => l.startsWith("backup: table tines.events done"))).toBe(true);
    expect(reporter.lines.join("\n")).not.toContain(TEST_PG_PASSWORD);

    // Restorable: into a fresh database, identical to the source.
    const restored = await createDatabase(serverUrl("TEST_PG_TARGET_URL"), "bakr");
    dbs.push(restored);
    const t = parsePgUrl(restored.url, "t");
    const r = spawnSync(
      "pg_restore",
      ["-h", t.host, "-p", String(t.port), "-U", t.user, "-d", t.database, "--exit-on-error", result.path!],
      {
        env: { ...process.env, PGPASSWORD: t.password },
        encoding: "utf8",
      },
    );
    expect(r.stderr).toBe("");
    const { comparison } = await verifyCopy(parsePgUrl(source.url, "s"), t, {
      jobs: 2,
      checksumMaxBytes: 1024 ** 3,
      compareOwners: true,
      reporter: recordingReporter(),
    });
    expect(comparison.mismatches).toEqual([]);
  });

  it("uploads to S3 with the sha256 in metadata and leaves no local copy when no directory is set", async () => {
    const bucket = `tines-backups-${randomBytes(3).toString("hex")}`;
    const client = s3Client({ bucket, endpoint: awsEndpoint() });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const before = readdirSync(os.tmpdir()).filter((f) => f.startsWith("tines-db-backup-"));
    const result = await backupDatabase({
      url: source.url,
      s3: { bucket, prefix: "tines/", endpoint: awsEndpoint() },
      stack: "dev",
      phase: "shutdown",
      reporter: recordingReporter(),
    });
    expect(result.path).toBeUndefined();
    expect(result.s3Uri).toBe(`s3://${bucket}/tines/${result.name}`);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `tines/${result.name}` }));
    expect(head.ContentLength).toBe(result.bytes);
    expect(head.Metadata?.sha256).toBe(result.sha256);
    const body = await (
      await client.send(new GetObjectCommand({ Bucket: bucket, Key: `tines/${result.name}` }))
    ).Body!.transformToByteArray();
    expect(createHash("sha256").update(body).digest("hex")).toBe(result.sha256);
    expect(readdirSync(os.tmpdir()).filter((f) => f.startsWith("tines-db-backup-"))).toEqual(before);
    client.destroy();
  });

  it("uploads large files in parts", async () => {
    const bucket = `tines-parts-${randomBytes(3).toString("hex")}`;
    const client = s3Client({ bucket, endpoint: awsEndpoint() });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    dir = mkdtempSync(path.join(os.tmpdir(), "bak-part-"));
    const file = path.join(dir, "big");
    const data = randomBytes(11 * 1024 * 1024 + 17);
    writeFileSync(file, data);
    const reporter = recordingReporter();
    await uploadFile(client, file, data.length, bucket, "big", "x", reporter, { partBytes: 5 * 1024 * 1024 });
    expect(reporter.lines.filter((l) => l.startsWith("backup: uploaded"))).toHaveLength(3);
    const body = await (
      await client.send(new GetObjectCommand({ Bucket: bucket, Key: "big" }))
    ).Body!.transformToByteArray();
    expect(Buffer.from(body).equals(data)).toBe(true);
    client.destroy();
  });

  it("fails with one line and leaves no partial file when the server is unreachable or the bucket is missing", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "bak-fail-"));
    await expect(
      backupDatabase({
        url: `postgresql://postgres:${TEST_PG_PASSWORD}@127.0.0.1:1/x`,
        directory: dir,
        stack: "s",
        phase: "shutdown",
        reporter: recordingReporter(),
      }),
    ).rejects.toThrow(/^cannot connect to the database PostgreSQL 127\.0\.0\.1:1 database x: /);
    await expect(
      backupDatabase({
        url: source.url,
        s3: { bucket: "no-such-bucket-here", endpoint: awsEndpoint() },
        stack: "s",
        phase: "shutdown",
        reporter: recordingReporter(),
      }),
    ).rejects.toThrow(/backup upload to s3:\/\/no-such-bucket-here\/s-shutdown-.*failed: .*bucket/i);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("names database.backup.directory and the operation for a path under a file and an immutable directory (issue 20, item 8)", async (context) => {
    dir = mkdtempSync(path.join(os.tmpdir(), "bak-dir-"));
    const file = path.join(dir, "a-file");
    writeFileSync(file, "x");
    const options = { url: source.url, stack: "s", phase: "shutdown", reporter: recordingReporter() };
    await expect(backupDatabase({ ...options, directory: path.join(file, "dumps") })).rejects.toThrow(
      new RegExp(`^database\\.backup\\.directory: creating ${file}/dumps failed: ENOTDIR: not a directory`),
    );
    const frozen = path.join(dir, "frozen");
    const immutable = makeImmutable(frozen);
    if (!immutable) return context.skip("chattr +i is not available here");
    try {
      await expect(backupDatabase({ ...options, directory: frozen })).rejects.toThrow(
        new RegExp(
          `^database\\.backup\\.directory: writing the dump to ${frozen}/s-shutdown-.*\\.dump\\.partial failed: EPERM`,
        ),
      );
    } finally {
      immutable.release();
    }
    expect(readdirSync(frozen)).toEqual([]);
  });
});
