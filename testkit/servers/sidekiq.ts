/**
 * A real Sidekiq server (Debian's ruby-sidekiq) for tests: a child process of the test,
 * talking to the test Redis on loopback, with the job classes in testkit/servers/sidekiq/jobs.rb.
 * Jobs are pushed, and Sidekiq's own view of the state is read, with Sidekiq's Ruby client
 * and data API (testkit/servers/sidekiq/client.rb), so the tests compare our Redis reader with
 * Sidekiq::Queue / ScheduledSet / RetrySet / ProcessSet rather than with our own fixtures.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import Redis from "ioredis";
import { stopProcess } from "./localServers";
import { testkitPath } from "../projectRoot";

const SUPPORT_DIR = testkitPath("servers", "sidekiq");
const JOBS_FILE = path.join(SUPPORT_DIR, "jobs.rb");
const CLIENT_FILE = path.join(SUPPORT_DIR, "client.rb");
const SETUP_HINT = "install ruby-sidekiq with `bash scripts/setup.sh`";

export interface SidekiqServerOptions {
  /** Redis URL with database number, e.g. redis://127.0.0.1:6379/7. */
  redisUrl: string;
  /** Worker threads (-c). */
  concurrency?: number;
  queues?: string[];
  /** Seconds Sidekiq gives running jobs on SIGTERM before pushing them back (-t). */
  shutdownTimeoutSeconds?: number;
  /** The Ruby file with the job classes (-r); by default the tests' (./sidekiq/jobs.rb). */
  jobs?: string;
  /** Sidekiq's environment (-e); `test` by default. */
  environment?: string;
}

export interface SidekiqServer {
  pid: number;
  /** The identity Sidekiq registered in the `processes` set (host:pid:random). */
  identity: string;
  /** Everything the process wrote to stdout and stderr so far (its log). */
  log(): string;
  /** SIGTERM by PID and wait for the exit; Sidekiq pushes unfinished jobs back to their queue. */
  stop(): Promise<void>;
  /** SIGKILL by PID and wait for the exit: no shutdown, no heartbeat clean-up. */
  kill(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Start `sidekiq` and resolve once its first heartbeat is in Redis. */
export async function startSidekiq(options: SidekiqServerOptions): Promise<SidekiqServer> {
  const args = [
    "-r",
    options.jobs ?? JOBS_FILE,
    "-e",
    options.environment ?? "test",
    "-c",
    String(options.concurrency ?? 2),
    "-t",
    String(options.shutdownTimeoutSeconds ?? 5),
    ...(options.queues ?? ["default"]).flatMap((q) => ["-q", q]),
  ];
  const child = spawn("sidekiq", args, {
    cwd: SUPPORT_DIR,
    env: { ...process.env, REDIS_URL: options.redisUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(new Error(`test sidekiq: cannot start sidekiq (${error.message}); ${SETUP_HINT}`)),
    ),
  );
  const redis = new Redis(options.redisUrl);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`test sidekiq: exited with ${child.exitCode}: ${output}`);
      for (const identity of await redis.smembers("processes")) {
        const info = await redis.hget(identity, "info");
        if (info && (JSON.parse(info) as { pid?: number }).pid === child.pid) {
          return {
            pid: child.pid!,
            identity,
            log: () => output,
            // Sidekiq pushes unfinished jobs back within its shutdown timeout (-t).
            stop: () => stopProcess(child, ((options.shutdownTimeoutSeconds ?? 5) + 30) * 1000),
            kill: async () => {
              if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
              await exited(child);
            },
          };
        }
      }
      if (Date.now() > deadline) throw new Error(`test sidekiq: no heartbeat within 30 s: ${output}`);
      await Promise.race([new Promise((r) => setTimeout(r, 100)), spawnError]);
    }
  } catch (error) {
    child.kill("SIGKILL");
    await exited(child);
    throw error;
  } finally {
    redis.disconnect();
  }
}

/** Sidekiq's own answers (Sidekiq::Queue.all, ScheduledSet, RetrySet, DeadSet, ProcessSet, Workers). */
export interface RubySidekiqReport {
  queues: Array<{ name: string; size: number; latency: number; paused: boolean }>;
  enqueued: number;
  scheduled: number;
  retries: number;
  dead: number;
  processes: number;
  busy: number;
  workers: number;
  identities: string[];
  beats: number[];
  jids: Record<"queued" | "scheduled" | "retry" | "dead" | "working" | "done", string[]>;
  /** When each finished job finished, epoch seconds. */
  doneAt: Record<string, number>;
}

function ruby<T>(redisUrl: string, request: object): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      "ruby",
      [CLIENT_FILE, JSON.stringify(request)],
      { cwd: SUPPORT_DIR, env: { ...process.env, REDIS_URL: redisUrl } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`test sidekiq client: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout) as T);
      },
    );
  });
}

export interface PushOptions {
  queue?: string;
  /** perform_in seconds; absent: perform_async. */
  in?: number;
  count?: number;
}

/** Push jobs with Sidekiq's own client; resolves with their jids. */
export async function pushJobs(
  redisUrl: string,
  jobClass: "SleepJob" | "FailJob" | "DeadJob" | "FlakyJob",
  args: unknown[],
  options: PushOptions = {},
): Promise<string[]> {
  const answer = await ruby<{ jids: string[] }>(redisUrl, {
    op: "push",
    class: jobClass,
    args,
    queue: options.queue,
    in: options.in,
    count: options.count,
  });
  return answer.jids;
}

export function rubyReport(redisUrl: string): Promise<RubySidekiqReport> {
  return ruby<RubySidekiqReport>(redisUrl, { op: "report" });
}

/** Poll until `check` returns true, or fail naming `what`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every pushed jid is somewhere Sidekiq still knows about, or finished: none lost. */
export function lostJobs(report: RubySidekiqReport, pushed: readonly string[]): string[] {
  const known = new Set(Object.values(report.jids).flat());
  return pushed.filter((jid) => !known.has(jid));
}
