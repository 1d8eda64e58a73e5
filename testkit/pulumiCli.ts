/**
 * Drives the real Pulumi CLI against this project, for the end-to-end suite and the demo: a
 * private PULUMI_HOME, a file backend and a stack config file in a temp directory, so that a
 * run leaves the work tree exactly as it found it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pulumiToolDir } from "./goTools";
import { PROJECT_ROOT } from "./projectRoot";

export { PROJECT_ROOT };

const REQUIRED_BINARIES = [
  "pulumi",
  "pulumi-language-nodejs",
  "pulumi-resource-pulumi-nodejs",
  "pulumi-analyzer-policy",
];

/**
 * The project's policy pack: every preview and update of the suite runs with it, so that
 * the program and the pack are checked against each other on real runs.
 */
export const POLICY_PACK_DIR = path.join(PROJECT_ROOT, "policy");

/**
 * The project's own CLI build in the machine-wide tools cache: the CLI with the language host
 * built from this checkout's tools/pulumi-language-nodejs.
 */
function projectBuild(env: NodeJS.ProcessEnv): string {
  return path.join(pulumiToolDir(env), "bin");
}

/** Where a CLI may be, in order: PULUMI_BIN_DIR, the machine-wide tools cache, /opt/pulumi. */
export function pulumiBinDirCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...(env.PULUMI_BIN_DIR ? [env.PULUMI_BIN_DIR] : []), projectBuild(env), "/opt/pulumi/bin"];
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return dir;
  }
  return undefined;
}

/**
 * The demo's CLI: the operator's `pulumi` from PATH, else the project's build, built first
 * when there is none (scripts/build-go-tools.sh pulumi); `log` says which.
 */
export function operatorPulumiCli(log: (line: string) => void): string {
  const needed = ["pulumi", "pulumi-language-nodejs"];
  const installed = onPath("pulumi");
  if (installed && needed.every((bin) => existsSync(path.join(installed, bin)) || onPath(bin))) {
    log(`Pulumi CLI: ${installed}/pulumi (from PATH)`);
    return installed;
  }
  const cached = projectBuild(process.env);
  if (needed.every((bin) => existsSync(path.join(cached, bin)))) {
    log(`Pulumi CLI: ${cached}/pulumi (none on PATH; the project's build)`);
    return cached;
  }
  log(
    "Pulumi CLI: none on PATH; building the project's own (bash scripts/build-go-tools.sh pulumi, about 15 min)",
  );
  const build = spawnSync("bash", [path.join(PROJECT_ROOT, "scripts", "build-go-tools.sh"), "pulumi"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const prefix = /-> (\S+)/.exec(build.stdout ?? "")?.[1];
  if (build.status !== 0 || !prefix) throw new Error(`building the Pulumi CLI failed (exit ${build.status})`);
  log(`Pulumi CLI: ${prefix}/bin/pulumi`);
  return path.join(prefix, "bin");
}

/** The first candidate holding the CLI, the language host and the dynamic-provider shim. */
export function findPulumiBinDir(
  candidates: string[] = pulumiBinDirCandidates(),
  exists: (file: string) => boolean = existsSync,
): string {
  const found = candidates.find((dir) => REQUIRED_BINARIES.every((bin) => exists(path.join(dir, bin))));
  if (found) return found;
  throw new Error(
    `e2e: no Pulumi CLI found (needs ${REQUIRED_BINARIES.join(", ")}) in ${candidates.join(", ")}; ` +
      "build one with `bash scripts/build-go-tools.sh pulumi` (about 15 min cold) or set PULUMI_BIN_DIR",
  );
}

/** The command line of a process, or "" once it has gone. */
export function processCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  /** The project root unless given. */
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
  /** Each output line as it comes (the demo streams the update). */
  echo?: (line: string) => void;
}

export interface PulumiStackOptions {
  stack: string;
  /** The CLI's directory; by default the project's build (findPulumiBinDir). */
  binDir?: string;
  /** Where the state, PULUMI_HOME and the stack's config file go; by default a new temp directory. */
  dir?: string;
  /** Extra environment for every command (e.g. fake AWS credentials). */
  env?: Record<string, string>;
  /** Directories put on PATH after the CLI's own, e.g. a provider plugin the engine must find there. */
  pathDirs?: string[];
  /** Every preview and update runs with the project's policy pack (default true). */
  policyPack?: boolean;
}

/** Calls `echo` once per complete line of the chunks it is fed, and once more for the rest. */
function lineEcho(echo: ((line: string) => void) | undefined) {
  let pending = "";
  return {
    feed(chunk: string) {
      if (!echo) return;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) echo(line);
    },
    end() {
      if (echo && pending.trim()) echo(pending);
    },
  };
}

/**
 * One stack in a throwaway file backend. The passphrase lives only in the environment of
 * the child processes; secret config values go through stdin, never argv.
 */
export class PulumiStack {
  readonly dir: string;
  readonly stateDir: string;
  readonly configFile: string;
  readonly binDir: string;
  readonly stack: string;
  /** TMPDIR of every command, the engine's plugins included: what a run leaves there shows. */
  readonly tmpDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly policyPack: string[];
  /** The pulumi child running now, so that `stop` can interrupt it. */
  private current?: ChildProcess;

  constructor(options: PulumiStackOptions) {
    this.binDir = options.binDir ?? findPulumiBinDir();
    this.stack = options.stack;
    this.dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), "tines-maint-e2e-"));
    this.stateDir = path.join(this.dir, "state");
    this.tmpDir = path.join(this.dir, "tmp");
    this.policyPack = options.policyPack === false ? [] : ["--policy-pack", POLICY_PACK_DIR];
    // `pulumi stack init` writes the stack's salt beside Pulumi.yaml; it runs in this copy of
    // the project so the file lands here, and every later command names it with --config-file.
    const projectCopy = path.join(this.dir, "project");
    this.configFile = path.join(projectCopy, `Pulumi.${this.stack}.yaml`);
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(projectCopy, { recursive: true });
    copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(projectCopy, "Pulumi.yaml"));
    this.env = {
      ...process.env,
      ...options.env,
      PATH: [this.binDir, ...(options.pathDirs ?? []), process.env.PATH ?? ""].join(path.delimiter),
      PULUMI_HOME: path.join(this.dir, "home"),
      TMPDIR: this.tmpDir,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      NO_COLOR: "1",
    };
    // Vitest's own markers would change how @pulumi/pulumi behaves in the program process.
    for (const key of Object.keys(this.env)) if (key.startsWith("VITEST")) delete this.env[key];
  }

  /** `pulumi up` as a child the caller may signal (an operator's Ctrl-C, a killed CI job). */
  startUp(message: string): { child: ChildProcess; output: () => string; done: Promise<CliResult> } {
    const started = Date.now();
    const child = spawn(
      path.join(this.binDir, "pulumi"),
      [
        ...this.scoped(["up", "--yes", "--message", message, ...this.policyPack]),
        "--non-interactive",
        "--color",
        "never",
      ],
      { cwd: PROJECT_ROOT, env: this.env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const done = new Promise<CliResult>((resolve) =>
      child.on("close", (code, signal) =>
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: text,
          stderr: "",
          seconds: (Date.now() - started) / 1000,
        }),
      ),
    );
    return { child, output: () => text, done };
  }

  /** `pulumi <args>` scoped to this stack and its config file. */
  runScoped(args: string[]): Promise<CliResult> {
    return this.run(this.scoped(args));
  }

  /** Runs `pulumi <args>` in `cwd` (the project root unless given); never throws on exit code. */
  run(args: string[], options: RunOptions = {}): Promise<CliResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(
        path.join(this.binDir, "pulumi"),
        [...args, "--non-interactive", "--color", "never"],
        {
          cwd: options.cwd ?? PROJECT_ROOT,
          env: this.env,
          stdio: ["pipe", "pipe", "pipe"],
        },
      );
      this.current = child;
      let stdout = "";
      let stderr = "";
      const echo = lineEcho(options.echo);
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        echo.feed(chunk.toString());
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        echo.feed(chunk.toString());
      });
      const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 600_000);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (this.current === child) this.current = undefined;
        echo.end();
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout,
          stderr,
          seconds: (Date.now() - started) / 1000,
        });
      });
      child.stdin.end(options.stdin ?? "");
    });
  }

  /** Like run, but a non-zero exit is an error carrying the end of the output. */
  async ok(args: string[], options: RunOptions = {}): Promise<CliResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      const tail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-20).join("\n");
      throw new Error(`pulumi ${args.slice(0, 2).join(" ")} exited ${result.code}:\n${tail}`);
    }
    return result;
  }

  /** Interrupts a running pulumi as Ctrl-C would, and waits (30 s at most) for it to exit. */
  async stop(): Promise<void> {
    const child = this.current;
    if (!child?.pid || child.exitCode !== null) return;
    const closed = new Promise((r) => child.once("close", r));
    process.kill(child.pid, "SIGINT");
    const timer = setTimeout(
      () => child.exitCode === null && child.pid && process.kill(child.pid, "SIGKILL"),
      30_000,
    );
    await closed;
    clearTimeout(timer);
  }

  async init(): Promise<void> {
    await this.ok(["login", `file://${this.stateDir}`]);
    await this.ok(["stack", "init", this.stack, "--secrets-provider", "passphrase", "--no-select"], {
      cwd: path.dirname(this.configFile),
    });
  }

  private scoped(args: string[]): string[] {
    return [...args, "--stack", this.stack, "--config-file", this.configFile];
  }

  /** Plain values, `--path` style keys (`services.tines-app`); integers stay integers. */
  async setConfig(values: Record<string, string | number | boolean>): Promise<void> {
    const pairs = Object.entries(values).flatMap(([key, value]) => ["--plaintext", `${key}=${value}`]);
    await this.ok(this.scoped(["config", "set-all", "--path", ...pairs]));
  }

  /** A secret value, read by the CLI from stdin so it never shows in a process list. */
  async setSecret(key: string, value: string): Promise<void> {
    await this.ok(this.scoped(["config", "set", "--path", "--secret", key]), { stdin: value });
  }

  async removeConfig(key: string): Promise<void> {
    await this.ok(this.scoped(["config", "rm", "--path", key]));
  }

  preview(extra: string[] = []): Promise<CliResult> {
    return this.run(this.scoped(["preview", "--diff", ...this.policyPack, ...extra]));
  }

  up(message: string, extra: string[] = [], echo?: (line: string) => void): Promise<CliResult> {
    return this.run(this.scoped(["up", "--yes", "--message", message, ...this.policyPack, ...extra]), {
      echo,
    });
  }

  async outputs(): Promise<Record<string, unknown>> {
    const result = await this.ok(["stack", "output", "--json", "--stack", this.stack]);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  async history(): Promise<Array<Record<string, unknown>>> {
    const result = await this.ok(["stack", "history", "--output", "json", "--stack", this.stack]);
    return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
  }

  /** Where the stack keeps what a run left, as text: its outputs and its state file. A secret must be in neither. */
  async storedTexts(): Promise<string[]> {
    return [JSON.stringify(await this.outputs()), readFileSync(this.stateFile(), "utf8")];
  }

  /** The checkpoint file of the file backend, as it sits on disk. */
  stateFile(): string {
    return path.join(this.stateDir, ".pulumi", "stacks", "tines-maintenance", `${this.stack}.json`);
  }

  /**
   * The processes still running with this stack's PULUMI_HOME: after `pulumi up` is killed
   * with SIGKILL, the plugins it started (each in its own process group) are orphaned and
   * keep running. Found through /proc, stopped by PID.
   */
  strayProcesses(): number[] {
    const marker = `PULUMI_HOME=${path.join(this.dir, "home")}`;
    const pids: number[] = [];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(marker))
          pids.push(Number(entry));
      } catch {
        // gone already, or not ours to read
      }
    }
    return pids;
  }

  /** What the stack's commands and their plugins left in their TMPDIR. */
  leftInTmp(): string[] {
    return readdirSync(this.tmpDir);
  }

  remove(): void {
    for (const pid of this.strayProcesses()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
