/**
 * The whole program under the real Pulumi CLI, platform ecs: moto plays ECS, a real Redis
 * holds Sidekiq's queues and a real PostgreSQL is backed up. One stack goes through
 * preview, a refused shutdown, a completed shutdown and the startup, in that order.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Redis from "ioredis";
import { describe, expect, it } from "vitest";
import { fillTinesLike } from "../testkit/databases";
import { enqueue } from "../testkit/sidekiqJobs";
import { TEST_PASSWORDS, startMoto, startPostgres, startRedis } from "../testkit/servers";
import { PROJECT_ROOT, type CliResult } from "../testkit/pulumiCli";
import { ecsE2e } from "./ecsStack";
import { quickDrainConfig, tinesRedisUrl } from "./stackConfig";
import { ecsDesiredCounts } from "../testkit/motoEcs";

/** Live counts before maintenance, as the operator's other tooling left them. */
const INITIAL_COUNTS = {
  "tines-app": 3,
  "tines-sidekiq": 4,
  "tines-command-runner": 2,
  "pypi-server": 1,
};
const QUEUE = "default";
const STUCK_JOBS = 7;

function log(step: string, result: CliResult): void {
  console.log(`--- ${step}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
}

/** Every line the providers logged with pulumi.log.info, as `pulumi up` prints them. */
function diagnosticsSection(output: string): string {
  const start = output.indexOf("Diagnostics:");
  if (start < 0) return "";
  const end = output.indexOf("\nOutputs:", start);
  const endResources = output.indexOf("\nResources:", start);
  const stop = [end, endResources].filter((i) => i > 0).sort((a, b) => a - b)[0] ?? output.length;
  return output.slice(start, stop);
}

describe("ecs on moto, real Redis and PostgreSQL, real Pulumi CLI", () => {
  const env = ecsE2e(async ({ start, afterFile, database, tempDir, ecsStack }) => {
    const [redisServer, pgSource, moto] = await start(startRedis(), startPostgres("e2e-source"), startMoto());
    const redis = new Redis(redisServer.url);
    afterFile(() => redis.disconnect());
    // The ACL user with a password, so that the state can be searched for that password.
    const redisUrl = tinesRedisUrl(redisServer);
    const tinesDb = await database(pgSource.url, "tines_e2e");
    await fillTinesLike(tinesDb.url, { rows: 500, largeRows: 1 });
    const backupDir = tempDir("tines-maint-e2e-backup-");

    const { stack, ecs } = await ecsStack({
      stack: "e2e",
      moto,
      counts: INITIAL_COUNTS,
      env: { AWS_DEFAULT_REGION: "us-east-1" },
      config: {
        ...quickDrainConfig(14),
        "sidekiq.preflightSeconds": 2,
        "database.backup.directory": backupDir,
      },
    });
    console.log(`e2e: Pulumi CLI from ${stack.binDir}; stack dir ${stack.dir}`);
    await stack.setSecret("sidekiq.redisUrl", redisUrl);
    await stack.setSecret("database.url", tinesDb.url);
    return { redis, stack, ecs, backupDir };
  });
  const gitStatusBefore = gitStatus();

  it("a. preview shows every step and changes nothing", async () => {
    await enqueue(env.redis, "mailers", 2);
    const redisBefore = await redisSnapshot(env.redis);
    let result: CliResult;
    try {
      result = await env.stack.preview();
      expect(await redisSnapshot(env.redis)).toEqual(redisBefore);
    } finally {
      await env.redis.del("queue:mailers");
      await env.redis.srem("queues", "mailers");
    }
    log("preview (shutdown)", result);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const step of [
      "sidekiq-preflight",
      "tines-app",
      "sidekiq-drain",
      "tines-sidekiq",
      "tines-command-runner",
      "database-backup",
      "pypi-server",
    ]) {
      // `--diff` names each resource in its URN: `...::sidekiq-drain]`.
      expect(result.stdout).toContain(`::${step}]`);
    }
    expect(await ecsDesiredCounts(env.ecs, Object.keys(INITIAL_COUNTS))).toEqual(INITIAL_COUNTS);
    expect(readdirSync(env.backupDir)).toEqual([]);
  });

  let refusedOutput = "";
  it("b. shutdown with a queue nobody consumes fails at sidekiq-drain; Sidekiq and later services keep running", async () => {
    await enqueue(env.redis, QUEUE, STUCK_JOBS);
    const result = await env.stack.up("e2e: shutdown with a stuck queue");
    log("up (shutdown, stuck queue)", result);
    refusedOutput = result.stdout + result.stderr;
    expect(result.code, refusedOutput).not.toBe(0);
    // The gate's error names it and carries the samples it took.
    expect(refusedOutput).toMatch(
      new RegExp(`error: sidekiq-drain: queue did not drain .*last samples: .*pending ${STUCK_JOBS} busy 0`),
    );
    const counts = await ecsDesiredCounts(env.ecs, Object.keys(INITIAL_COUNTS));
    expect(counts).toEqual({ ...INITIAL_COUNTS, "tines-app": 0 });
    expect(await env.redis.llen(`queue:${QUEUE}`)).toBe(STUCK_JOBS);
    expect(readdirSync(env.backupDir)).toEqual([]);
  });

  it("b2. aborting the maintenance after the refusal (phase running) restores tines-app; the rest was never touched", async () => {
    const outputs = await env.stack.outputs();
    // Pulumi keeps no outputs of a failed update: the refusal is recorded only in its output and history.
    console.log(`stack outputs after the refused update: ${JSON.stringify(outputs)}`);
    await env.stack.setConfig({ phase: "running" });
    const result = await env.stack.up("e2e: abort, back to running");
    log("up (running after refusal)", result);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, Object.keys(INITIAL_COUNTS))).toEqual(INITIAL_COUNTS);
    expect(await env.redis.llen(`queue:${QUEUE}`)).toBe(STUCK_JOBS);
    await env.stack.setConfig({ phase: "shutdown" });
  });

  let shutdownOutput = "";
  it("c. after the queue drains, shutdown completes: all at 0, backup with its sha256, no password anywhere", async () => {
    // A consumer takes every job.
    while ((await env.redis.rpop(`queue:${QUEUE}`)) !== null);
    const result = await env.stack.up("e2e: shutdown after drain");
    log("up (shutdown, drained)", result);
    shutdownOutput = result.stdout + result.stderr;
    expect(result.code, shutdownOutput).toBe(0);
    const counts = await ecsDesiredCounts(env.ecs, Object.keys(INITIAL_COUNTS));
    expect(counts).toEqual(Object.fromEntries(Object.keys(INITIAL_COUNTS).map((k) => [k, 0])));

    const outputs = await env.stack.outputs();
    console.log(`stack outputs after shutdown:\n${JSON.stringify(outputs, null, 2)}`);
    const backup = (
      outputs.audit as { databaseBackup?: { location?: string; sha256?: string; bytes?: number } }
    ).databaseBackup;
    expect(backup?.location).toBeTruthy();
    const files = readdirSync(env.backupDir);
    expect(files).toHaveLength(1);
    const file = path.join(env.backupDir, files[0]);
    expect(backup?.location).toContain(files[0]);
    const digest = createHash("sha256").update(readFileSync(file)).digest("hex");
    expect(backup?.sha256).toBe(digest);
    expect(backup?.bytes).toBe(readFileSync(file).length);

    const services = outputs.services as Array<{
      name: string;
      previousCount?: number;
      reachedCount: number;
    }>;
    for (const [key, count] of Object.entries(INITIAL_COUNTS)) {
      expect(services.find((s) => s.name === key)).toMatchObject({ previousCount: count, reachedCount: 0 });
    }

    const plainOutputs = JSON.stringify(outputs);
    const state = readFileSync(env.stack.stateFile(), "utf8");
    for (const secret of TEST_PASSWORDS) {
      expect(plainOutputs).not.toContain(secret);
      expect(state).not.toContain(secret);
      expect(shutdownOutput).not.toContain(secret);
      expect(refusedOutput).not.toContain(secret);
    }
  });

  let startupOutput = "";
  it("d. phase running restores every count exactly", async () => {
    await env.stack.setConfig({ phase: "running" });
    const result = await env.stack.up("e2e: startup");
    log("up (running)", result);
    startupOutput = result.stdout + result.stderr;
    expect(result.code, startupOutput).toBe(0);
    expect(await ecsDesiredCounts(env.ecs, Object.keys(INITIAL_COUNTS))).toEqual(INITIAL_COUNTS);
  });

  it("e. stack history records each update with its message", async () => {
    const history = await env.stack.history();
    const summary = history.map((u) => ({ message: u.message, result: u.result, kind: u.kind }));
    console.log(`stack history:\n${JSON.stringify(summary, null, 2)}`);
    // Newest first.
    expect(summary.map((u) => u.message)).toEqual([
      "e2e: startup",
      "e2e: shutdown after drain",
      "e2e: abort, back to running",
      "e2e: shutdown with a stuck queue",
    ]);
    expect(summary.map((u) => u.result)).toEqual(["succeeded", "succeeded", "succeeded", "failed"]);
    const config = JSON.stringify(history.map((u) => u.config));
    for (const secret of TEST_PASSWORDS) expect(config).not.toContain(secret);
  });

  it("f. progress of the gates and adapters shows in the `pulumi up` output", () => {
    for (const [name, output] of [
      ["refused shutdown", refusedOutput],
      ["shutdown", shutdownOutput],
      ["startup", startupOutput],
    ]) {
      console.log(`--- diagnostics of ${name}:\n${diagnosticsSection(output)}`);
    }
    // ECS adapter waiting on counts, Sidekiq gate sampling, backup progress.
    expect(refusedOutput).toMatch(/info: .*sidekiq-preflight: pending \d+ .*s left/);
    expect(refusedOutput).toMatch(/info: .*sidekiq-drain: pending \d+ .*s left/);
    expect(shutdownOutput).toMatch(
      /info: .*ECS service "tines-sidekiq" \(cluster tines-e2e\): desired count 4 -> 0/,
    );
    expect(startupOutput).toMatch(
      /info: .*ECS service "tines-app" \(cluster tines-e2e\): desired count 0 -> 3/,
    );
  });

  it("leaves the work tree as it found it", () => {
    expect(gitStatus()).toEqual(gitStatusBefore);
    expect(existsSync(path.join(PROJECT_ROOT, "Pulumi.e2e.yaml"))).toBe(false);
  });
});

/** Every key with its type and size: a write of any kind changes it. */
async function redisSnapshot(redis: Redis): Promise<Record<string, string>> {
  const keys = (await redis.keys("*")).sort();
  const out: Record<string, string> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    const dump = await redis.dumpBuffer(key);
    out[key] = `${type}:${createHash("sha256")
      .update(dump ?? Buffer.alloc(0))
      .digest("hex")}`;
  }
  return out;
}

function gitStatus(): string {
  return execFileSync("git", ["status", "--porcelain", "--", "Pulumi.*.yaml", ".pulumi"], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
}
