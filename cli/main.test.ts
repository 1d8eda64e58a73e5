/**
 * `maint` as the package's `bin` (cli/main.js), started the way an operator starts it from the
 * repository, `npx maint ...`: from the build in bin/, with no TypeScript loader in the process.
 */
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModuleProbe, typeScriptModules, type LoadedModules } from "../testkit/moduleProbe";
import { enqueue, urlWithDb } from "../testkit/sidekiqJobs";
import { commands } from "./commands";

const ROOT = path.resolve(__dirname, "..");
const probe = createModuleProbe();

/** What the `maint` process itself (not npm's) loaded in the last run. */
function maintProcess(): LoadedModules {
  const runs = probe.take("maint");
  expect(runs).toHaveLength(1);
  return runs[0];
}

function npx(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: probe.nodeOptions };
  for (const key of Object.keys(env)) if (key.startsWith("VITEST")) delete env[key];
  return new Promise((resolve) =>
    execFile(
      "npx",
      ["--no-install", "maint", ...args],
      { cwd: ROOT, env, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

const base = process.env.TEST_REDIS_URL;
if (!base) throw new Error("TEST_REDIS_URL must be set by testkit/servers/globalSetup.ts");
const url = urlWithDb(base, 11);
const redis = new Redis(url);

beforeAll(async () => {
  // What `npm ci` did (prepare): a no-op while bin/ is current, a build after an edit.
  execFileSync(process.execPath, [path.join(ROOT, "scripts", "build-program.js")], {
    cwd: ROOT,
    stdio: "ignore",
  });
  await redis.flushdb();
}, 180_000);
afterAll(async () => {
  await redis.flushdb();
  redis.disconnect();
  probe.remove();
});

describe("npx maint (the package's bin, compiled)", () => {
  it("prints every command's usage for --help, loaded from bin/ without a TypeScript loader", async () => {
    const run = await npx(["--help"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe("usage: maint <command> [flags]");
    for (const command of commands) expect(run.stdout).toContain(`  ${command.usage}\n`);
    const loaded = maintProcess();
    expect(loaded.modules).toContain(path.join(ROOT, "bin", "cli", "maint.js"));
    expect(loaded.tsExtension).toBe(false);
    expect(typeScriptModules(loaded)).toEqual([]);
  }, 180_000);

  it("runs `queue` against the real Redis, compiled", async () => {
    await enqueue(redis, "default", 3);
    await enqueue(redis, "mailers", 1);
    const run = await npx(["queue", "--redis-url", url, "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      queues: Array<{ name: string; size: number }>;
      enqueued: number;
    };
    expect(report.queues.map((q) => [q.name, q.size])).toEqual([
      ["default", 3],
      ["mailers", 1],
    ]);
    expect(report.enqueued).toBe(4);
    const loaded = maintProcess();
    expect(loaded.tsExtension).toBe(false);
    expect(typeScriptModules(loaded)).toEqual([]);
  }, 180_000);

  it("refuses an unknown command with the list of commands, exit 2", async () => {
    const run = await npx(["nope"]);
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n")[0]).toBe(
      `maint: unknown command "nope"; allowed: ${commands.map((c) => c.name).join(", ")}`,
    );
    expect(maintProcess().tsExtension).toBe(false);
  }, 180_000);
});
