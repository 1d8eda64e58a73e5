/**
 * A real Sidekiq process (Debian's ruby-sidekiq) on a given Redis, for tests that need a
 * live heartbeat. Started as a child process, stopped by its PID with TERM as an operator would.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";

export interface RunningSidekiq {
  pid: number;
  stop(): Promise<void>;
}

const WORKER = `
require "sidekiq"
class NoopJob
  include Sidekiq::Worker
  def perform; end
end
`;

/** Resolves once the process has written its first heartbeat to Redis. */
export async function startSidekiq(redisUrl: string, timeoutMs = 30_000): Promise<RunningSidekiq> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-sidekiq-"));
  writeFileSync(path.join(dir, "worker.rb"), WORKER);
  const child = spawn("sidekiq", ["-r", "./worker.rb", "-c", "1", "-t", "5"], {
    cwd: dir,
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`sidekiq exited with ${child.exitCode}: ${stderr.slice(-500)}`);
      const members = await redis.smembers("processes");
      if (members.some((identity) => identity.includes(String(child.pid)))) break;
      if (Date.now() > deadline)
        throw new Error(`sidekiq wrote no heartbeat within ${timeoutMs} ms: ${stderr.slice(-500)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    redis.disconnect();
  }
  return { pid: child.pid ?? 0, stop };
}
