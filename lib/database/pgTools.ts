/**
 * pg_dump / pg_restore: finding a version that can talk to both servers, and running them
 * with passwords kept out of argv and their stderr turned into progress and one-line errors.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import path from "node:path";
import type { Client } from "pg";
import { MaintenanceError } from "../errors";
import { redactSecrets } from "../redact";
import { killOnExit } from "./cleanup";
import { currentOperation, throwIfStopped } from "./operation";

export interface PgTools {
  pgDump: string;
  pgRestore: string;
  /** Major version of both binaries. */
  major: number;
}

/** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> 15. */
export function parseToolMajor(versionOutput: string): number | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionOutput);
  return match ? Number(match[1]) : undefined;
}

/** `server_version_num` 150018 -> 15. */
export function serverMajor(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

/** The major version of the server `client` is connected to. */
export async function connectedServerMajor(client: Pick<Client, "query">): Promise<number> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return serverMajor(Number(rows[0].v));
}

function toolMajor(binary: string): number | undefined {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return out.status === 0 ? parseToolMajor(out.stdout) : undefined;
}

function candidateDirs(binDir?: string): string[] {
  if (binDir) return [binDir];
  const root = "/usr/lib/postgresql";
  const versioned = existsSync(root)
    ? readdirSync(root)
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join(root, v, "bin"))
    : [];
  const onPath = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  // Debian's /usr/bin/pg_dump is pg_wrapper, a Perl script that picks the newest
  // /usr/lib/postgresql/<major>/bin for a remote server anyway: going there directly saves a
  // Perl start on every run (about 0.15 s each on a loaded machine, six per migration).
  const wrapped = onPath.filter((dir) => isPgWrapper(path.join(dir, "pg_dump")));
  return [...onPath.filter((dir) => !wrapped.includes(dir)), ...versioned, ...wrapped];
}

/** Debian's postgresql-common version dispatcher, not a pg_dump itself. */
export function isPgWrapper(binary: string): boolean {
  try {
    return path.basename(realpathSync(binary)) === "pg_wrapper";
  } catch {
    return false;
  }
}

/**
 * The version rules, pure so they can be tested for versions this machine does not have:
 * pg_dump must be at least as new as the source server, the tools at least as new as the
 * target, and the target not older than the source (pg_dump cannot downgrade).
 */
export function checkVersions(tools: number, source: number, target: number): string | undefined {
  if (target < source) {
    return `target server is PostgreSQL ${target}, older than the source's ${source}; a dump cannot be restored into an older major version`;
  }
  const needed = Math.max(source, target);
  if (tools < needed) {
    return `pg_dump/pg_restore ${tools} are older than the servers (source ${source}, target ${target}); install the PostgreSQL ${needed} client tools or pass their directory`;
  }
  return undefined;
}

/**
 * The newest-enough pair of pg_dump and pg_restore of the same major version, searched in
 * `binDir` if given, else on PATH and under /usr/lib/postgresql/<major>/bin.
 */
export function findPgTools(minMajor: number, binDir?: string): PgTools {
  const found: string[] = [];
  for (const dir of candidateDirs(binDir)) {
    const pgDump = path.join(dir, "pg_dump");
    const pgRestore = path.join(dir, "pg_restore");
    if (!existsSync(pgDump) || !existsSync(pgRestore)) continue;
    const dumpMajor = toolMajor(pgDump);
    const restoreMajor = toolMajor(pgRestore);
    if (dumpMajor === undefined || restoreMajor === undefined) continue;
    found.push(`${dir} (${dumpMajor})`);
    if (dumpMajor === restoreMajor && dumpMajor >= minMajor) return { pgDump, pgRestore, major: dumpMajor };
  }
  throw new MaintenanceError(
    found.length === 0
      ? `pg_dump/pg_restore not found${binDir ? ` in ${binDir}` : " on PATH or under /usr/lib/postgresql"}; install the PostgreSQL ${minMajor} client tools`
      : `pg_dump/pg_restore ${minMajor} or newer are needed for these servers; found only ${found.join(", ")}`,
  );
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Each stderr line, already redacted. */
  onLine?: (line: string) => void;
  /** Passwords to mask in anything the child prints. */
  secrets: string[];
  /** What failed, for the error message, e.g. "pg_restore into the target". */
  what: string;
  /** Written to the child's stdin (an archive for pg_restore), so it never goes to disk. */
  input?: Buffer;
}

/** Lines that say why a pg tool failed, rather than what it was doing. */
function isErrorLine(line: string): boolean {
  return /(error|fatal|could not|failed|does not exist|permission denied|aborting)/i.test(line);
}

/**
 * Start a pg tool; the returned promise settles when it exits (MaintenanceError unless 0).
 * It is killed if this process is interrupted.
 */
export function runPgTool(
  binary: string,
  args: string[],
  options: RunOptions,
  stdio: { stdout?: "pipe" | "ignore" } = {},
): { child: ChildProcess; done: Promise<void> } {
  throwIfStopped(options.what);
  const operation = currentOperation();
  const child = spawn(binary, args, {
    // Its sessions carry the operation's name, so that an abort can end them on the server.
    env: operation ? { ...options.env, PGAPPNAME: operation.tag } : options.env,
    stdio: [options.input ? "pipe" : "ignore", stdio.stdout ?? "ignore", "pipe"],
  });
  killOnExit(child);
  if (operation) {
    operation.children.add(child);
    child.once("exit", () => operation.children.delete(child));
  }
  // A child that exits early closes its pipes; its exit status says why, not EPIPE.
  if (options.input) {
    child.stdin!.on("error", () => undefined);
    child.stdin!.end(options.input);
  }
  const errors: string[] = [];
  let partial = "";
  const handle = (line: string) => {
    const clean = redactSecrets(line, options.secrets);
    if (isErrorLine(clean)) errors.push(clean.replace(/^\S+:\s*/, ""));
    options.onLine?.(clean);
  };
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    lines.filter(Boolean).forEach(handle);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (error) =>
      reject(
        new MaintenanceError(`${options.what}: could not start ${path.basename(binary)}: ${error.message}`),
      ),
    );
    child.once("close", (code, signal) => {
      if (partial) handle(partial);
      if (code === 0) return resolve();
      const why = errors.slice(0, 3).join(" / ") || (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(new MaintenanceError(`${options.what} failed: ${why}`));
    });
  });
  return { child, done };
}

/** Run a pg tool and collect its stdout (e.g. a schema archive kept in memory). */
export async function pgToolOutput(binary: string, args: string[], options: RunOptions): Promise<Buffer> {
  const { child, done } = runPgTool(binary, args, options, { stdout: "pipe" });
  const chunks: Buffer[] = [];
  child.stdout!.on("data", (chunk: Buffer) => chunks.push(chunk));
  await done;
  return Buffer.concat(chunks);
}
