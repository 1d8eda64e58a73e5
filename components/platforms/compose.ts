/**
 * Docker Compose: each step stops or starts the existing containers of one service of the
 * operator's project, as `docker compose stop/start SERVICE` does, through the engine API, and
 * finishes once they are exited, or running and healthy. The project's files are never changed;
 * a startup re-creates the containers whose configuration changed (an endpoint switch).
 */
import * as pulumi from "@pulumi/pulumi";
import { sidekiqGraceWarning } from "../../lib/compose/grace";
import type { CoreConfig } from "../../lib/config/core";
import { ConfigError } from "../../lib/errors";
import { ComposeService } from "./composeService";
import { scaledBy, type PlatformAdapter } from "./adapter";

/** Local engine calls are cheap; a healthcheck interval is rarely under a second. */
export const COMPOSE_POLL_SECONDS = 1;

export interface ComposeAdapterConfig {
  projectName?: string;
  projectDirectory?: string;
  /** DOCKER_HOST form; when unset the provider uses its DOCKER_HOST or the default socket. */
  dockerHost?: string;
  /** A standalone `docker-compose` binary for re-creating changed containers; unset: `docker compose`. */
  cli?: string;
}

export function createComposeAdapter(compose: CoreConfig["compose"] & ComposeAdapterConfig): PlatformAdapter {
  const { projectName, projectDirectory } = compose;
  if (!projectName || !projectDirectory) {
    throw new ConfigError(
      "tines-maintenance:compose.projectName and compose.projectDirectory are required when platform is compose",
    );
  }
  return {
    platform: "compose",
    versionSource: {
      platform: "compose",
      projectName,
      ...(compose.dockerHost ? { dockerHost: compose.dockerHost } : {}),
    },
    scaleService(step, options) {
      if (step.name === "tines-sidekiq" && step.targetCount === 0) {
        const warning = sidekiqGraceWarning(projectDirectory, step.workloadName);
        if (warning) void pulumi.log.warn(warning, options.parent);
      }
      return scaledBy(
        new ComposeService(
          step.name,
          {
            projectName,
            service: step.workloadName,
            count: step.targetCount,
            ...(compose.dockerHost ? { dockerHost: compose.dockerHost } : {}),
            timeoutSeconds: options.timeoutSeconds,
            pollSeconds: COMPOSE_POLL_SECONDS,
            projectDirectory,
            ...(compose.cli ? { composeCli: compose.cli } : {}),
          },
          { parent: options.parent },
        ),
      );
    },
  };
}
