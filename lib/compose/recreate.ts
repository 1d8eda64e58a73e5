/**
 * Containers keep the environment they were created with: `docker compose start` (and the
 * engine's start) never reads `.env` again. So after an endpoint switch rewrote `.env`, a
 * startup step first lets the real Compose CLI re-create (without starting) the containers
 * whose configuration no longer matches the project, as `docker compose up -d` would: Compose
 * compares its own `com.docker.compose.config-hash` label, and keeps the containers' volumes,
 * anonymous ones included. Containers whose config did not change are left alone, so a window
 * without a switch starts the very same containers. (`docker compose config --hash` cannot
 * stand in for that comparison: since Compose 2.22 it ignores `env_file`, docker/compose#14001.)
 */
import childProcess from "node:child_process";
import { MaintenanceError, oneLine } from "../errors";

export const CONFIG_HASH_LABEL = "com.docker.compose.config-hash";

export interface ComposeCliSettings {
  /** A standalone `docker-compose` binary; unset: `docker compose` (the docker CLI plugin) on PATH. */
  cli?: string;
  dockerHost: string;
  projectName: string;
  projectDirectory: string;
}

/** Runs the Compose CLI for the project and returns its stdout; a non-zero exit is one readable line. */
export function runComposeCli(
  settings: ComposeCliSettings,
  args: string[],
  timeoutMs = 120_000,
): Promise<string> {
  const [file, ...prefix] = settings.cli ? [settings.cli] : ["docker", "compose"];
  const argv = [
    ...prefix,
    "--project-name",
    settings.projectName,
    "--project-directory",
    settings.projectDirectory,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    childProcess.execFile(
      file,
      argv,
      {
        cwd: settings.projectDirectory,
        env: { ...process.env, DOCKER_HOST: settings.dockerHost },
        timeout: timeoutMs,
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const detail = oneLine(stderr.trim().split("\n").filter(Boolean).pop() ?? error.message);
        reject(
          new MaintenanceError(
            `\`${[file, ...prefix].join(" ")} ${args.join(" ")}\` in ${settings.projectDirectory} failed: ${detail}` +
              ((error as NodeJS.ErrnoException).code === "ENOENT"
                ? " (Compose CLI not found; install the docker compose plugin or set compose.cli to a docker-compose binary)"
                : ""),
          ),
        );
      },
    );
  });
}

/**
 * `docker compose up --no-start --no-deps` for one service at its current number of containers:
 * Compose re-creates the diverged ones (same names and numbers, volumes kept), leaves the others
 * as they are and starts none; no image is pulled or built, so the version the window recorded
 * is what comes back.
 */
export async function recreateChangedContainers(
  settings: ComposeCliSettings,
  service: string,
  containers: number,
): Promise<void> {
  try {
    await runComposeCli(settings, [
      "up",
      "--no-start",
      "--no-deps",
      "--no-build",
      "--pull",
      "never",
      "--scale",
      `${service}=${containers}`,
      service,
    ]);
  } catch (error) {
    throw new MaintenanceError(
      `bringing ${service}'s containers up to the project's configuration: ${oneLine(error)}; none was started`,
    );
  }
}
