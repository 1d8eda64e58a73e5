/**
 * Docker Compose: each step stops or starts the existing containers of one service of the
 * operator's project, as `docker compose stop/start SERVICE` does, through the engine API, and
 * finishes once they are exited, or running and healthy. The project itself is never changed.
 */
import * as pulumi from "@pulumi/pulumi";
import { sidekiqGraceWarning } from "../../lib/compose/grace";
import type { CoreConfig } from "../../lib/config";
import { ConfigError } from "../../lib/errors";
import { DYNAMIC_TYPES } from "../../lib/names";
import { composeServiceProvider } from "../providers/composeServiceProvider";
import type { PlatformAdapter } from "./adapter";
import { ServiceCountResource } from "./serviceCountResource";

/** Local engine calls are cheap; a healthcheck interval is rarely under a second. */
export const COMPOSE_POLL_SECONDS = 1;

export interface ComposeServiceArgs {
  projectName: pulumi.Input<string>;
  service: pulumi.Input<string>;
  count: pulumi.Input<number>;
  dockerHost?: pulumi.Input<string>;
  timeoutSeconds: pulumi.Input<number>;
  pollSeconds: pulumi.Input<number>;
}

export class ComposeService extends ServiceCountResource {
  // `declare`: a plain field would be reset to undefined after super() has filled it.
  declare public readonly containers: pulumi.Output<number>;

  constructor(name: string, args: ComposeServiceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      composeServiceProvider,
      name,
      { ...args, containers: undefined },
      opts,
      DYNAMIC_TYPES.composeService.module,
      DYNAMIC_TYPES.composeService.type,
    );
  }
}

export interface ComposeAdapterConfig {
  projectName?: string;
  projectDirectory?: string;
  /** DOCKER_HOST form; when unset the provider uses its DOCKER_HOST or the default socket. */
  dockerHost?: string;
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
      return new ComposeService(
        step.name,
        {
          projectName,
          service: step.workloadName,
          count: step.targetCount,
          ...(compose.dockerHost ? { dockerHost: compose.dockerHost } : {}),
          timeoutSeconds: options.timeoutSeconds,
          pollSeconds: COMPOSE_POLL_SECONDS,
        },
        { parent: options.parent },
      ).scaled();
    },
  };
}
