/**
 * Real servers on loopback for tests, benchmarks and the demo: redis-server, PostgreSQL
 * clusters (initdb + postgres) and the moto AWS emulator, and what every server of
 * testkit/servers shares: a free port, a private temp directory, and a stop by PID.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, chownSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
  /** The server's process id, where the harness started one (benchmarks read its CPU time). */
  pid?: number;
  /** Synchronous SIGKILL and clean-up, for exit paths that cannot wait (a signal, EPIPE). */
  killNow?(): void;
}

const SETUP_HINT = "install it with `bash scripts/setup.sh` (the README's setup command)";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `name` in `extraDirs` or on PATH; else an error naming how to install it. */
export function findExecutable(name: string, extraDirs: string[] = [], hint = SETUP_HINT): string {
  for (const dir of [...extraDirs, ...(process.env.PATH ?? "").split(path.delimiter)]) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`test servers: \`${name}\` not found; ${hint}`);
}

export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(`test servers: PostgreSQL server binaries not found; ${SETUP_HINT}`);
  return path.join(root, versions[0], "bin");
}

async function waitForPort(
  port: number,
  child: ChildProcess,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`test servers: ${what} exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`test servers: ${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/**
 * Stops a server by its PID: SIGTERM, then SIGKILL once `graceMs` has passed; resolves when
 * it has exited. `onKill` hears of a server that ignored SIGTERM.
 */
export async function stopProcess(
  child: ChildProcess,
  graceMs = 10_000,
  onKill?: (pid: number) => void,
): Promise<void> {
  const running = () => child.exitCode === null && child.signalCode === null;
  if (!running() || child.pid === undefined) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (running()) {
    onKill?.(child.pid);
    child.kill("SIGKILL");
    await exited;
  }
}

/** The port opens before recovery ends ("the database system is starting up"): wait for a query. */
async function waitForQueries(
  url: string,
  child: ChildProcess,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return;
    } catch (error) {
      if (child.exitCode !== null)
        throw new Error(`test servers: ${what} exited with code ${child.exitCode}`);
      if (Date.now() > deadline)
        throw new Error(`test servers: ${what} answers no query: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function stopChild(child: ChildProcess, dir?: string): () => Promise<void> {
  return async () => {
    await stopProcess(child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}

function killChildNow(child: ChildProcess, dir?: string): () => void {
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `tines-maint-${prefix}-`));
}

/** Password of the `tines` ACL user on the test Redis (the default user has no password). */
export const TEST_REDIS_USER_PASSWORD = "redis-test-secret";

export interface RedisServerOptions {
  /** `requirepass`: the default user needs this password (URL `redis://:PASSWORD@host`). */
  password?: string;
  /** Serve TLS only (`rediss://`), with this server certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RunningServer> {
  const bin = findExecutable("redis-server", ["/usr/bin", "/usr/sbin"]);
  const port = await freePort();
  const dir = tempDir("redis");
  const args = [
    ...(options.tls
      ? [
          "--port",
          "0",
          "--tls-port",
          String(port),
          "--tls-cert-file",
          options.tls.certFile,
          "--tls-key-file",
          options.tls.keyFile,
          "--tls-ca-cert-file",
          options.tls.caFile,
          "--tls-auth-clients",
          "no",
        ]
      : ["--port", String(port)]),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    ...(options.password ? ["--requirepass", options.password] : []),
    "--user",
    "tines",
    "on",
    `>${TEST_REDIS_USER_PASSWORD}`,
    "~*",
    "&*",
    "+@all",
  ];
  const child = spawn(bin, args, { stdio: "ignore" });
  await waitForPort(port, child, "redis-server");
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  return {
    url: `${options.tls ? "rediss" : "redis"}://${auth}127.0.0.1:${port}`,
    stop: stopChild(child, dir),
    pid: child.pid,
    killNow: killChildNow(child, dir),
  };
}

/** Superuser password of the test PostgreSQL clusters (TCP connections need it). */
export const TEST_PG_PASSWORD = "pg-test-secret";

/** Every password of the test servers: none may show in plain text in a stack's outputs, state or logs. */
export const TEST_PASSWORDS = [TEST_PG_PASSWORD, TEST_REDIS_USER_PASSWORD] as const;

/**
 * Logical replication on every test cluster (lib/database/presync*): the source needs
 * `wal_level = logical` and a slot and WAL sender per presync, the target a worker per
 * subscription; the test files run side by side, hence more of each than the defaults.
 */
const LOGICAL_REPLICATION = {
  wal_level: "logical",
  max_replication_slots: "20",
  max_wal_senders: "20",
  max_logical_replication_workers: "8",
  max_worker_processes: "16",
};

/** `settings` override the defaults below (e.g. `wal_level: "replica"` for a refusal test). */
export async function startPostgres(
  name: string,
  settings: Record<string, string> = {},
): Promise<RunningServer> {
  const binDir = postgresBinDir();
  const port = await freePort();
  const dir = tempDir(`pg-${name}`);
  const dataDir = path.join(dir, "data");
  const pwFile = path.join(dir, "pw");
  writeFileSync(pwFile, TEST_PG_PASSWORD);
  // initdb refuses to run as root; run the cluster as the Debian `postgres` user then.
  const asRoot = process.getuid?.() === 0;
  const runAs = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  if (asRoot) {
    const pw = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (pw.status !== 0) throw new Error(`test servers: no \`postgres\` user; ${SETUP_HINT}`);
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
    chownSync(pwFile, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const [initCmd, initArgs] = runAs(path.join(binDir, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--pwfile",
    pwFile,
    "--auth-local",
    "trust",
    "--auth-host",
    "scram-sha-256",
    "--encoding",
    "UTF8",
    "--no-sync",
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`test servers: initdb failed: ${init.stderr}`);
  const [pgCmd, pgArgs] = runAs(path.join(binDir, "postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${dir}`,
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_wal_size=4GB",
    "-c",
    "max_connections=100",
    ...Object.entries({ ...LOGICAL_REPLICATION, ...settings }).flatMap(([key, value]) => [
      "-c",
      `${key}=${value}`,
    ]),
  ]);
  const child = spawn(pgCmd, pgArgs, { stdio: "ignore" });
  await waitForPort(port, child, `postgres (${name})`);
  const url = `postgresql://postgres:${TEST_PG_PASSWORD}@127.0.0.1:${port}/postgres`;
  await waitForQueries(url, child, `postgres (${name})`);
  return { url, stop: stopChild(child, dir) };
}

export async function startMoto(): Promise<RunningServer> {
  const bin = findExecutable("moto_server");
  const port = await freePort();
  const child = spawn(bin, ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  await waitForPort(port, child, "moto_server", 60_000);
  return { url: `http://127.0.0.1:${port}`, stop: stopChild(child) };
}
