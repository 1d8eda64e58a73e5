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
import type { RunningServer } from "./servers/localServers";
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

/** What a file's set-up may start or create; each is undone after the file (./testScope.ts `fileFixture`). */
export interface FileScope {
  /** Runs `step` after the file, before the steps registered earlier. */
  afterFile(step: () => unknown): void;
  /** Starts these servers side by side; each one that starts is stopped after the file. */
  start<const S extends readonly Promise<Pick<RunningServer, "stop">>[]>(
    ...servers: S
  ): Promise<{ -readonly [K in keyof S]: Awaited<S[K]> }>;
  /** A new temp directory, removed after the file. */
  tempDir(prefix: string): string;
  /** A new database on the server at `serverUrl`, dropped after the file. */
  database(serverUrl: string, prefix: string): Promise<TestDatabase>;
}

/**
 * One object for what a test file sets up before its tests (servers, databases, a stack):
 * `beforeAll` fills it in with what `setUp` returns. What `setUp` starts or creates through its
 * scope is undone after the file, last first, every step even when another fails or the set-up
 * itself failed half-way, so that a broken start leaves no server or directory behind.
 */
export function fileFixture<T extends object>(setUp: (scope: FileScope) => Promise<T>): T {
  const fixture = {} as T;
  const steps: (() => unknown)[] = [];
  const afterFile = (step: () => unknown) => void steps.push(step);
  const scope: FileScope = {
    afterFile,
    start: async (...servers) => {
      // Every start settled before a failure is thrown, so that none is left running unseen.
      const results = await Promise.allSettled(servers);
      const started = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      afterFile(() => Promise.all(started.map((server) => server.stop())));
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
      return started as never;
    },
    tempDir: (prefix) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
      afterFile(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    database: async (serverUrl, prefix) => {
      const db = await createDatabase(serverUrl, prefix);
      afterFile(() => db.drop().catch(() => undefined));
      return db;
    },
  };
  beforeAll(async () => {
    Object.assign(fixture, await setUp(scope));
  });
  afterAll(async () => {
    const failures: unknown[] = [];
    for (const step of steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, "the file's clean-up failed");
  });
  return fixture;
}
