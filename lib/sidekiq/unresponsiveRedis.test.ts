/**
 * A Redis that accepts the connection and never answers (a hung server, a black-holing
 * proxy) must not hold any wait past its own bound (issue 20, item 2): before, connectRedis
 * set only connectTimeout, and the pre-flight, the drain gate, `maint drain-wait --timeout`
 * and `maint queue` waited forever. The gates through their real run functions, the CLI as an
 * operator runs it (node + tsx, a child process); the fault is a real listening socket.
 */
import { execFile } from "node:child_process";
import Redis from "ioredis";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBlackHole, type BlackHole } from "../../testkit/blackHole";
import { startRedis } from "../../testkit/servers/localServers";
import { silentReporter } from "../progress";
import { runDrainGate, runPreflight } from "./gate";

let hole: BlackHole;
let url: string;
beforeAll(async () => {
  hole = await startBlackHole();
  url = `redis://127.0.0.1:${hole.port}/0`;
});
afterAll(() => hole.close());

async function timed<T>(work: Promise<T>): Promise<{ error: Error; seconds: number }> {
  const started = Date.now();
  const error = (await work.then(
    () => new Error("resolved"),
    (e: Error) => e,
  )) as Error;
  return { error, seconds: (Date.now() - started) / 1000 };
}

function maint(
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stderr: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ["--import", "tsx", "cli/maint.ts", ...args],
      { cwd: path.resolve(__dirname, "../.."), env: { ...process.env, REDIS_URL: url }, timeout: timeoutMs },
      (error, _stdout, stderr) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stderr,
          seconds: (Date.now() - started) / 1000,
        }),
    ),
  );
}

/** The pre-flight's inputs, warning only, sampling for `preflightSeconds`. */
const preflightInputs = (redisUrl: string, preflightSeconds: number) => ({
  redisUrl,
  namespace: "",
  trigger: "t",
  mode: "warn" as const,
  preflightSeconds,
  intervalSeconds: 1,
  windowSeconds: 30,
  maxSize: 0,
});

/** The drain gate's inputs against the black hole, quick settings. */
const drainInputs = (timeoutSeconds: number) => ({
  redisUrl: url,
  namespace: "",
  trigger: "t",
  intervalSeconds: 1,
  windowSeconds: 3,
  settleSeconds: 1,
  maxSize: 0,
  maxBusy: 0,
  timeoutSeconds,
});

describe("Sidekiq gates against a Redis that never answers", () => {
  it("the pre-flight ends within preflightSeconds, naming Redis and its address", async () => {
    const { error, seconds } = await timed(runPreflight(preflightInputs(url, 3), silentReporter));
    expect(error.message).toBe(
      `Redis 127.0.0.1:${hole.port} db 0: accepted the connection but did not answer within 3s`,
    );
    expect(seconds).toBeLessThan(4);
  });

  it("the drain gate ends within timeoutSeconds, naming Redis and its address", async () => {
    const { error, seconds } = await timed(runDrainGate(drainInputs(14), silentReporter));
    expect(error.message).toBe(
      `Redis 127.0.0.1:${hole.port} db 0: accepted the connection but did not answer within 5s`,
    );
    expect(seconds).toBeLessThan(14);
  });

  it("the drain gate stops at once when its signal aborts (the first Ctrl-C)", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort("the update was cancelled (Ctrl-C)"), 500);
    const { error, seconds } = await timed(
      runDrainGate(drainInputs(900), silentReporter, { signal: controller.signal }),
    );
    expect(error.message).toMatch(
      /^sidekiq-drain: stopped waiting, the update was cancelled \(Ctrl-C\) .*Sidekiq left running; the gate removed no job/,
    );
    expect(seconds).toBeLessThan(1.5);
  });
});

describe("the operator CLI against a Redis that never answers", () => {
  it("`maint queue` exits 1 within its 5 s bound, one line naming Redis", async () => {
    const result = await maint(["queue"]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `maint queue: Redis 127.0.0.1:${hole.port} db 0: accepted the connection but did not answer within 5s`,
    );
    // tsx's start-up included.
    expect(result.seconds).toBeLessThan(12);
  });

  it("`maint drain-wait --timeout 16` exits 1 within its timeout", async () => {
    const result = await maint([
      "drain-wait",
      "--interval",
      "1",
      "--window",
      "3",
      "--max-size",
      "0",
      "--timeout",
      "16",
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n").at(-1)).toBe(
      `maint drain-wait: Redis 127.0.0.1:${hole.port} db 0: accepted the connection but did not answer within 5s`,
    );
    expect(result.seconds).toBeLessThan(16 + 6);
  });
});

describe("a Redis that answers late, but within the I/O bound", () => {
  it("the last sample of a pre-flight whose window has run out still gets 2 s (seen failing at 0.5 s under load)", async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    try {
      // Holds every command of every client for 1.2 s, as a busy machine or a slow link would.
      await admin.client("PAUSE", 1200, "ALL");
      const result = await runPreflight(preflightInputs(server.url, 0), silentReporter);
      expect(result).toMatchObject({ outcome: "ok", samples: [{ pending: 0, busy: 0 }] });
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });
});
