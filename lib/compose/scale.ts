/**
 * One Compose maintenance step, as `docker compose stop SERVICE` / `start SERVICE` would do it:
 * stop or start the service's existing containers, then wait until the engine reports them
 * exited, or running and (when they have a healthcheck) healthy. The service is never scaled:
 * a project with fewer containers than the config asks for is refused. A startup first lets
 * Compose re-create the containers whose configuration changed (./recreate.ts), same number.
 */
import { abortReason } from "../deadline";
import { MaintenanceError } from "../errors";
import { formatSeconds, quietProgress, realClock, type Clock, type ProgressReporter } from "../progress";
import { NUMBER_LABEL, type ContainerInspect, type ContainerSummary, type DockerEngine } from "./engine";
import { CONFIG_HASH_LABEL, recreateChangedContainers, type ComposeCliSettings } from "./recreate";

export interface ComposeScaleRequest {
  project: string;
  service: string;
  count: number;
  timeoutSeconds: number;
  pollSeconds: number;
  /**
   * Where the project's files are, for a startup: containers whose config no longer matches
   * them (an endpoint switch rewrote `.env`) are re-created first. Unset: started as they are.
   */
  compose?: Omit<ComposeCliSettings, "projectName">;
  /** Aborts the wait (the engine that asked for the step has gone); calls already made finish. */
  signal?: AbortSignal;
}

export interface ComposeScaleResult {
  /** Containers of the service running before the step. */
  previousCount: number;
  /** Containers running (and healthy, where they have a healthcheck) once the step finished. */
  reachedCount: number;
  /** Containers the service has, running or not. */
  containers: number;
  /** Containers re-created with the project's current config before they were started. */
  recreated: number;
}

/** `paused` still holds its jobs in memory: for a shutdown it counts as running, as `docker compose ps` shows it. */
export const isUp = (state: string) => state === "running" || state === "paused" || state === "restarting";

function containerNumber(c: ContainerSummary): number {
  const n = Number(c.Labels[NUMBER_LABEL]);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}

export type ContainerReadiness = "up" | "starting" | "down";

/** Ready for traffic: running, not paused, and healthy when the image or compose file defines a healthcheck. */
export function readiness(state: ContainerInspect["State"]): ContainerReadiness {
  if (!state.Running && !state.Restarting && !state.Paused) return "down";
  if (state.Paused || state.Restarting || !state.Running) return "starting";
  if (state.Health && state.Health.Status !== "healthy") return "starting";
  return "up";
}

export async function scaleComposeService(
  engine: DockerEngine,
  request: ComposeScaleRequest,
  reporter: ProgressReporter,
  clock: Clock = realClock,
): Promise<ComposeScaleResult> {
  const { project, service, count } = request;
  const label = `compose service "${service}" (project ${project})`;
  const list = async () =>
    (await engine.listServiceContainers(project, service)).sort(
      (a, b) => containerNumber(a) - containerNumber(b),
    );
  let containers = await list();
  if (containers.length === 0) {
    throw new MaintenanceError(
      `${label}: no containers found on ${engine.dockerHost}; check compose.projectName and services.<key>.name ` +
        `(create them with \`docker compose -p ${project} up -d ${service}\`)`,
    );
  }
  const running = containers.filter((c) => isUp(c.State));
  const previousCount = running.length;
  if (count > containers.length) {
    throw new MaintenanceError(
      `${label}: config asks for ${count} running but the service has ${containers.length} container(s); ` +
        `scale it first with \`docker compose -p ${project} up -d --no-recreate --scale ${service}=${count} ${service}\``,
    );
  }

  const deadline = clock.now() + request.timeoutSeconds * 1000;
  let recreated = 0;
  // Only containers Compose made carry a config hash; others are started as they are, without the CLI.
  if (count > 0 && request.compose && containers.some((c) => c.Labels[CONFIG_HASH_LABEL])) {
    const before = new Set(containers.map((c) => c.Id));
    await recreateChangedContainers({ ...request.compose, projectName: project }, service, containers.length);
    containers = await list();
    recreated = containers.filter((c) => !before.has(c.Id)).length;
    if (recreated > 0) {
      reporter.info(
        `${label}: re-created ${recreated} container(s) whose configuration changed since they were created ` +
          `(e.g. DATABASE_HOST / REDIS_URL in .env), as \`docker compose up\` does; volumes kept`,
      );
    }
  }
  // The highest-numbered containers go first and come back last, as `docker compose up --scale` treats them.
  const keep = containers.slice(0, count);
  const stopping = containers.slice(count).filter((c) => isUp(c.State));
  const starting = keep.filter((c) => !isUp(c.State));
  if (stopping.length > 0) {
    reporter.info(`${label}: stopping ${stopping.length} of ${previousCount} running container(s)`);
    await Promise.all(stopping.map((c) => engine.stop(c.Id, undefined, request.timeoutSeconds * 1000)));
  }
  if (starting.length > 0) {
    reporter.info(`${label}: starting ${starting.length} container(s), ${previousCount} already running`);
    for (const c of starting) await engine.start(c.Id);
  }

  const others = containers.slice(count);
  const progress = quietProgress(reporter, clock);
  for (;;) {
    const keptStates = await Promise.all(
      keep.map(async (c) => readiness((await engine.inspect(c.Id)).State)),
    );
    const otherStates = await Promise.all(
      others.map(async (c) => readiness((await engine.inspect(c.Id)).State)),
    );
    const up = keptStates.filter((s) => s === "up").length;
    const stillUp = otherStates.filter((s) => s !== "down").length;
    if (up === count && stillUp === 0)
      return { previousCount, reachedCount: up, containers: containers.length, recreated };
    const left = (deadline - clock.now()) / 1000;
    const counts = `${up}/${count} up${stillUp > 0 ? `, ${stillUp} still stopping` : ""}`;
    if (left <= 0 || request.signal?.aborted) {
      const why = request.signal?.aborted
        ? `stopped waiting: ${abortReason(request.signal)}`
        : `did not reach ${count} running within ${formatSeconds(request.timeoutSeconds)}`;
      throw new MaintenanceError(
        `${label} ${why}: last ${counts} ` + `(states: ${[...keptStates, ...otherStates].join(", ")})`,
      );
    }
    const line = `${label}: ${counts}`;
    progress(line, `${line}, waiting; ${formatSeconds(left)} left`);
    await clock.sleep(
      Math.min(request.pollSeconds * 1000, Math.max(0, deadline - clock.now())),
      request.signal,
    );
  }
}
