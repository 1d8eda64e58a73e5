/**
 * The demo's Pulumi CLI and stack: the operator's `pulumi` from PATH, else the project's own
 * build (scripts/build-go-tools.sh pulumi); a private PULUMI_HOME, file backend and stack
 * config file in the demo's temp directory, so the work tree is left as it was.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { PulumiResult } from "../cli/commands/report";

/** The project root: this file's parent, from demo/ as from its build in bin/demo/. */
export const PROJECT_ROOT = [path.resolve(__dirname, ".."), path.resolve(__dirname, "..", "..")].find((dir) =>
  existsSync(path.join(dir, "Pulumi.yaml")),
)!;
const NEEDED = ["pulumi", "pulumi-language-nodejs"];

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return dir;
  }
  return undefined;
}

/** The version scripts/go-tools/pulumi.sh builds. */
function pinnedPulumiVersion(): string {
  const goMod = readFileSync(path.join(PROJECT_ROOT, "tools", "pulumi-language-nodejs", "go.mod"), "utf8");
  return /^\s*github\.com\/pulumi\/pulumi\/pkg\/v3 (\S+)/m.exec(goMod)?.[1] ?? "unknown";
}

/** The directory of the CLI to use, and where it came from. */
export function findPulumiCli(log: (line: string) => void): string {
  const installed = onPath("pulumi");
  if (installed && NEEDED.every((bin) => existsSync(path.join(installed, bin)) || onPath(bin))) {
    log(`Pulumi CLI: ${installed}/pulumi (from PATH)`);
    return installed;
  }
  const cached = path.join(
    process.env.TINES_TOOLS_DIR ?? "/var/cache/tines-maintenance",
    `pulumi-${pinnedPulumiVersion()}`,
    "bin",
  );
  if (NEEDED.every((bin) => existsSync(path.join(cached, bin)))) {
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

export class DemoStack {
  readonly configFile: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly projectCopy: string;
  /** The pulumi child running now, so that SIGINT can stop it first. */
  current?: ReturnType<typeof spawn>;

  constructor(
    readonly binDir: string,
    readonly dir: string,
    readonly stack: string,
  ) {
    this.projectCopy = path.join(dir, "project");
    mkdirSync(this.projectCopy, { recursive: true });
    mkdirSync(path.join(dir, "state"), { recursive: true });
    copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(this.projectCopy, "Pulumi.yaml"));
    this.configFile = path.join(this.projectCopy, `Pulumi.${stack}.yaml`);
    this.env = {
      ...process.env,
      PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}`,
      PULUMI_HOME: path.join(dir, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      NO_COLOR: "1",
    };
  }

  /** `pulumi <args>`; `echo` streams its output, indented, as it comes. */
  run(
    args: string[],
    options: { stdin?: string; cwd?: string; echo?: (line: string) => void } = {},
  ): Promise<PulumiResult> {
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
      let pending = "";
      const echo = (chunk: string) => {
        if (!options.echo) return;
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) options.echo(line);
      };
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
        echo(c.toString());
      });
      child.stderr.on("data", (c: Buffer) => {
        stderr += c.toString();
        echo(c.toString());
      });
      child.on("error", reject);
      child.on("close", (code, signal) => {
        this.current = undefined;
        if (pending.trim() && options.echo) options.echo(pending);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.end(options.stdin ?? "");
    });
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

  async ok(args: string[], options: Parameters<DemoStack["run"]>[1] = {}): Promise<PulumiResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      const tail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
      throw new Error(`pulumi ${args.slice(0, 2).join(" ")} exited ${result.code}:\n${tail}`);
    }
    return result;
  }

  private scoped(args: string[]): string[] {
    return [...args, "--stack", this.stack, "--config-file", this.configFile];
  }

  async init(): Promise<void> {
    await this.ok(["login", this.env.PULUMI_BACKEND_URL as string]);
    await this.ok(["stack", "init", this.stack, "--secrets-provider", "passphrase", "--no-select"], {
      cwd: this.projectCopy,
    });
  }

  async setConfig(values: Record<string, string | number | boolean>): Promise<void> {
    const pairs = Object.entries(values).flatMap(([key, value]) => ["--plaintext", `${key}=${value}`]);
    await this.ok(this.scoped(["config", "set-all", "--path", ...pairs]));
  }

  /** Read by the CLI from stdin, so the value never shows in a process list. */
  async setSecret(key: string, value: string): Promise<void> {
    await this.ok(this.scoped(["config", "set", "--path", "--secret", key]), { stdin: value });
  }

  up(message: string, echo: (line: string) => void): Promise<PulumiResult> {
    return this.run(this.scoped(["up", "--yes", "--skip-preview", "--message", message]), { echo });
  }
}
