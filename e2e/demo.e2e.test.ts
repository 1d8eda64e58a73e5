/**
 * `npm run demo` end to end, as a newcomer runs it: the whole window on real servers with the
 * real Pulumi CLI, then nothing left behind (temp directory, dockerd, Sidekiq, servers); and
 * Ctrl-C in the middle of the shutdown cleans up the same way.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_PG_PASSWORD, TEST_REDIS_USER_PASSWORD } from "../testkit/servers/localServers";
import { createModuleProbe, typeScriptModules } from "../testkit/moduleProbe";
import { PROJECT_ROOT } from "../testkit/pulumiCli";

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  seconds: number;
}

/** `npm run -s demo`; with `interruptWhen`, the demo itself, sent SIGINT once the output matches. */
function runDemo(args: string[], interruptWhen?: RegExp, nodeOptions?: string): Promise<DemoRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
    for (const key of Object.keys(env)) if (key.startsWith("VITEST")) delete env[key];
    // npm does not pass SIGINT on (a terminal sends it to the whole group): signal what it runs.
    const [command, commandArgs] = interruptWhen
      ? [process.execPath, [path.join(PROJECT_ROOT, "demo", "main.js"), ...args]]
      : ["npm", ["run", "-s", "demo", "--", ...args]];
    const child = spawn(command, commandArgs, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let interrupted = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (interruptWhen && !interrupted && interruptWhen.test(output)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => child.kill("SIGKILL"), 540_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** What the demo started, as it printed it: all of it must be gone afterwards. */
async function leftovers(output: string): Promise<string[]> {
  const found: string[] = [];
  const workDir = /working in (\S+)/.exec(output)?.[1];
  if (workDir && existsSync(workDir)) found.push(workDir);
  const dockerDir = /on unix:\/\/(\S+)\/docker\.sock/.exec(output)?.[1];
  if (dockerDir && existsSync(dockerDir)) found.push(dockerDir);
  for (const match of output.matchAll(/\(pid (\d+)/g)) {
    if (alive(Number(match[1]))) found.push(`pid ${match[1]}`);
  }
  for (const match of output.matchAll(/(PostgreSQL|Redis) (\d+)/g)) {
    if (await listening(Number(match[2]))) found.push(`${match[1]} on port ${match[2]}`);
  }
  return found;
}

describe("npm run demo", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-demo-e2e-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs a whole window, writes the report and leaves nothing behind", async () => {
    const out = path.join(dir, "window.html");
    const probe = createModuleProbe();
    const run = await runDemo(["--out", out], undefined, probe.nodeOptions);
    const demoProcess = probe.take(path.join(PROJECT_ROOT, "demo", "main.js"));
    probe.remove();
    console.log(`--- npm run demo: exit ${run.code} in ${run.seconds.toFixed(0)} s\n${run.output}`);
    expect(run.code, run.output).toBe(0);
    // Started from the build in bin/, without a TypeScript loader.
    expect(demoProcess).toHaveLength(1);
    expect(demoProcess[0].modules).toContain(path.join(PROJECT_ROOT, "bin", "demo", "demo.js"));
    expect(typeScriptModules(demoProcess[0])).toEqual([]);
    expect(run.output).toContain("sidekiq-drain: passed");
    expect(run.output).toMatch(/new database has (\d+) of \1 events/);
    expect(run.output).toContain(
      "after the shutdown: nginx=0 tines-app=0 tines-sidekiq=0 tines-command-runner=0 pypi-server=0",
    );
    expect(run.output).toContain(
      "after the startup: nginx=1 tines-app=2 tines-sidekiq=2 tines-command-runner=1 pypi-server=1",
    );
    expect(run.output).toContain(`window report: ${out}`);
    expect(await leftovers(run.output)).toEqual([]);

    const html = readFileSync(out, "utf8");
    const steps = [...html.matchAll(/<tr class="step" data-step="([^"]+)">/g)].map((m) => m[1]);
    expect(steps).toEqual([
      "sidekiq-preflight",
      "maintenance-window",
      "nginx",
      "tines-app",
      "sidekiq-drain",
      "tines-sidekiq",
      "tines-command-runner",
      "sidekiq-carry",
      "database-backup",
      "pypi-server",
      "database-migration",
      "endpoint-switch",
      "maintenance-window",
      "endpoint-propagation",
      "pypi-server",
      "tines-command-runner",
      "tines-sidekiq",
      "tines-app",
      "nginx",
    ]);
    // Every step ran in its update and has its bar.
    expect(html).not.toContain("no change in this update");
    expect(html).toMatch(/<td>DATABASE_HOST<\/td><td>127\.0\.0\.1<\/td><td>localhost<\/td>/);
    for (const secret of [TEST_PG_PASSWORD, TEST_REDIS_USER_PASSWORD]) expect(html).not.toContain(secret);
    expect(run.output).not.toContain(TEST_PG_PASSWORD);
    expect(run.output).not.toContain(TEST_REDIS_USER_PASSWORD);
  });

  it("Ctrl-C during the shutdown stops everything it started and removes its files", async () => {
    const run = await runDemo(["--out", path.join(dir, "interrupted.html")], /sidekiq-drain creating/);
    console.log(
      `--- npm run demo, interrupted: exit ${run.code} in ${run.seconds.toFixed(0)} s\n${run.output}`,
    );
    expect(run.output).toContain("SIGINT: stopping the demo and cleaning up");
    expect(run.code).toBe(130);
    expect(await leftovers(run.output)).toEqual([]);
    expect(existsSync(path.join(dir, "interrupted.html"))).toBe(false);
  });
});
