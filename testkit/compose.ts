/**
 * The real Docker Compose v2 CLI (built from the Go module proxy by scripts/go-tools/compose.sh)
 * as a `docker compose` plugin of the Debian docker CLI, against the private dockerd that
 * testkit/servers/dockerEngine.ts starts, and a Tines-shaped Compose project made of busybox containers.
 */
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { TEST_IMAGE } from "./servers/dockerEngine";
import { PROJECT_ROOT } from "./projectRoot";
import { SEED_COMPOSE_ORDER } from "./runbook";

const ROOT = PROJECT_ROOT;

function composeVersion(): string {
  const versions = readFileSync(path.join(ROOT, "tools", "versions.env"), "utf8");
  const match = /^COMPOSE_VERSION=(\S+)/m.exec(versions);
  if (!match) throw new Error("tools/versions.env has no COMPOSE_VERSION");
  return match[1];
}

/** bin/docker-compose of the machine-wide tools cache, or a clear error naming the build command. */
export function findComposeBinary(env: NodeJS.ProcessEnv = process.env): string {
  const toolsDir = env.TINES_TOOLS_DIR ?? "/var/cache/tines-maintenance";
  const binary = path.join(toolsDir, `compose-${composeVersion()}`, "bin", "docker-compose");
  if (existsSync(binary)) return binary;
  throw new Error(
    `compose: ${binary} not found; build it with \`bash scripts/build-go-tools.sh compose\` (about 8 min cold)`,
  );
}

export interface ComposeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One row of `docker compose ps --format json`. */
export interface ComposePsRow {
  ID: string;
  Name: string;
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
  Status: string;
}

/** One line of `docker events --format '{{json .}}'`. */
export interface DockerEvent {
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  /** Nanoseconds since the epoch. */
  timeNano: number;
}

export class ComposeCli {
  private readonly configDir: string;

  constructor(
    readonly dockerHost: string,
    readonly projectDirectory: string,
    readonly projectName: string,
  ) {
    // A private DOCKER_CONFIG whose cli-plugins holds the built binary: `docker compose` then
    // runs it exactly as an installed plugin, without touching the machine's docker config.
    this.configDir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-docker-config-"));
    mkdirSync(path.join(this.configDir, "cli-plugins"));
    symlinkSync(findComposeBinary(), path.join(this.configDir, "cli-plugins", "docker-compose"));
  }

  /** `docker <args>` against the private engine; never throws on exit code. */
  docker(args: string[]): Promise<ComposeResult> {
    return new Promise((resolve) => {
      execFile(
        "docker",
        args,
        {
          cwd: this.projectDirectory,
          env: { ...process.env, DOCKER_HOST: this.dockerHost, DOCKER_CONFIG: this.configDir },
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  /** `docker compose -p NAME <args>` in the project directory. */
  compose(args: string[]): Promise<ComposeResult> {
    return this.docker(["compose", "-p", this.projectName, ...args]);
  }

  async ok(args: string[]): Promise<string> {
    const result = await this.compose(args);
    if (result.code !== 0) throw new Error(`docker compose ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  }

  /** `docker compose ps --all --format json`, one row per container. */
  async ps(): Promise<ComposePsRow[]> {
    const out = await this.ok(["ps", "--all", "--format", "json"]);
    return out
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as ComposePsRow)
      .sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** The engine's container events between two times (ms since the epoch), oldest first. */
  async events(sinceMs: number, untilMs: number): Promise<DockerEvent[]> {
    const result = await this.docker([
      "events",
      "--since",
      (sinceMs / 1000).toFixed(3),
      "--until",
      (untilMs / 1000).toFixed(3),
      "--filter",
      "type=container",
      "--filter",
      `label=com.docker.compose.project=${this.projectName}`,
      "--format",
      "{{json .}}",
    ]);
    if (result.code !== 0) throw new Error(`docker events: ${result.stderr}`);
    return result.stdout
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as DockerEvent);
  }

  remove(): void {
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

export interface TinesProjectOptions {
  /** stop_grace_period per service, seconds. */
  graces: Record<string, number>;
  /** Services whose process ignores SIGTERM (a worker finishing its jobs), so only the grace period ends them. */
  ignoreTerm: string[];
  /** Replicas per service (compose `scale`), 1 when unset. */
  scale?: Record<string, number>;
  /** Anonymous volumes (container paths) per service, whose data must survive a re-creation. */
  volumes?: Record<string, string[]>;
  env: Record<string, string>;
}

/** Tines' Compose service names, as the seed names them; each a busybox loop, all reading the project's .env. */
export const TINES_COMPOSE_SERVICES = SEED_COMPOSE_ORDER;

/** Writes compose.yaml and .env of a Tines-shaped project into `dir`. */
export function writeTinesProject(dir: string, options: TinesProjectOptions): void {
  const service = (name: string): string => {
    const trap = options.ignoreTerm.includes(name) ? "trap '' TERM" : "trap 'exit 0' TERM";
    const lines = [
      `  ${name}:`,
      `    image: ${TEST_IMAGE}`,
      // No bridge on the private engine; Tines' services talk over the network, these don't need to.
      `    network_mode: none`,
      `    env_file: .env`,
      `    command: ["sh", "-c", "${trap}; rm -f /tmp/ready; (sleep 1; touch /tmp/ready) & while true; do sleep 0.2; done"]`,
    ];
    if (options.graces[name] !== undefined) lines.push(`    stop_grace_period: ${options.graces[name]}s`);
    if ((options.scale?.[name] ?? 1) !== 1) lines.push(`    scale: ${options.scale?.[name]}`);
    const volumes = options.volumes?.[name] ?? [];
    if (volumes.length > 0) lines.push("    volumes:", ...volumes.map((v) => `      - ${v}`));
    if (name === "tines-app") {
      lines.push(
        "    healthcheck:",
        '      test: ["CMD", "test", "-f", "/tmp/ready"]',
        "      interval: 1s",
        "      timeout: 1s",
        "      retries: 3",
      );
    }
    return lines.join("\n");
  };
  writeFileSync(
    path.join(dir, "compose.yaml"),
    `# A Tines-shaped project for the Compose e2e (testkit/compose.ts).\nservices:\n${TINES_COMPOSE_SERVICES.map(service).join("\n")}\n`,
  );
  writeFileSync(
    path.join(dir, ".env"),
    Object.entries(options.env)
      .map(([key, value]) => `${key}=${value}`)
      .join("\n") + "\n",
  );
}

/** Where a Compose stack of the tests or the demo finds Tines, and the services it scales. */
export interface ComposeStackTarget {
  projectName: string;
  projectDirectory: string;
  dockerHost: string;
  /** `compose.cli`; unset, the provider runs `docker compose` from its PATH. */
  composeCli?: string;
  /** Live count of each service key before the shutdown (`services.<key>`). */
  services: Record<string, number>;
}

/** The stack config of a shutdown on a Compose project; a test adds its gates' settings. */
export function composeShutdownConfig(target: ComposeStackTarget): Record<string, string | number> {
  return {
    phase: "shutdown",
    platform: "compose",
    "compose.projectName": target.projectName,
    "compose.projectDirectory": target.projectDirectory,
    "compose.dockerHost": target.dockerHost,
    ...(target.composeCli === undefined ? {} : { "compose.cli": target.composeCli }),
    ...Object.fromEntries(Object.entries(target.services).map(([key, count]) => [`services.${key}`, count])),
    stepTimeoutSeconds: 60,
  };
}
