/**
 * Test helper (vitest only): what one test file creates on the test servers and on disk,
 * removed by the file's own hooks, so that each file does not spell the same hooks again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createDatabase, serverUrl, type TestDatabase } from "./databases";
import { urlWithDb } from "./sidekiqJobs";

export type TestServer = "TEST_PG_SOURCE_URL" | "TEST_PG_TARGET_URL";

/**
 * Databases dropped after the test that made them: those `database()` creates on a test
 * server, and any a test pushes to `created` itself.
 */
export function databasesPerTest(prefix: string): {
  created: TestDatabase[];
  database(which: TestServer): Promise<TestDatabase>;
} {
  const created: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((db) => db.drop()));
  });
  return {
    created,
    async database(which) {
      const db = await createDatabase(serverUrl(which), prefix);
      created.push(db);
      return db;
    },
  };
}

/**
 * A temp directory of the file's own as TMPDIR while its tests run, to check that a run
 * leaves nothing there; TMPDIR is restored and the directory removed after the file.
 * Returns the directory's path (set once `beforeAll` has run).
 */
export function privateTmpdir(prefix: string): () => string {
  let tmp = "";
  const saved = process.env.TMPDIR;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
    process.env.TMPDIR = tmp;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(tmp, { recursive: true, force: true });
  });
  return () => tmp;
}

/**
 * Database `index` of the test Redis (testkit/servers/globalSetup.ts) for one test file: emptied
 * before each test, the client disconnected after the file. Each file owns one index, so that
 * files can run in parallel.
 */
export function redisDatabasePerFile(index: number): { url: string; redis: Redis } {
  const base = process.env.TEST_REDIS_URL;
  if (!base) throw new Error("TEST_REDIS_URL must be set by testkit/servers/globalSetup.ts");
  const url = urlWithDb(base, index);
  const redis = new Redis(url);
  beforeEach(async () => {
    await redis.flushdb();
  });
  afterAll(() => redis.disconnect());
  return { url, redis };
}
