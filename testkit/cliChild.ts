/**
 * Test helper: `maint <command>` as a child process (node + tsx, as an operator runs it),
 * with its stderr lines collected so that a test can wait for a point in the run and then
 * interrupt it with a real signal.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "./projectRoot";

export interface CliChild {
  child: ChildProcess;
  stderr: string[];
  stdout: string[];
  /** Resolves with the first stderr line matching `pattern`; rejects if the child exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const root = PROJECT_ROOT;

export function startCli(args: string[], env: NodeJS.ProcessEnv): CliChild {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/maint.ts", ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  const stdout: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  let partial = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      stderr.push(line);
      for (const w of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => stdout.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => {
      if (partial) stderr.push(partial);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stderr,
    stdout,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      const seen = stderr.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no stderr line matched ${pattern}: ${stderr.join(" | ")}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`exited before a line matched ${pattern}: ${stderr.join(" | ")}`));
        });
      });
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `maint <args>` as a child process (tsx, as `npm exec maint` runs it) to its end. `env` is laid
 * over this process's environment; a variable set to undefined there is removed from the child's.
 * The child is killed after `timeoutMs` (exit code 1).
 */
export function runCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    timeoutMs?: number;
    onStderr?: (text: string) => void;
  } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const tsx = path.join(root, "node_modules/.bin/tsx");
  return new Promise((resolve) => {
    const child = execFile(
      tsx,
      [path.join(root, "cli/maint.ts"), ...args],
      { cwd: options.cwd ?? root, env, timeout: options.timeoutMs ?? 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (options.onStderr) child.stderr?.on("data", (chunk: Buffer) => options.onStderr!(chunk.toString()));
  });
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function pollFor<T>(check: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
