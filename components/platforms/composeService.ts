/**
 * Dynamic provider that holds one service of the operator's Compose project at a running
 * count, as `docker compose stop/start` would. It never adds or removes containers (a startup
 * re-creates, as `docker compose up` would, only those whose configuration changed), and
 * `delete` leaves them as they are.
 */
import * as pulumi from "@pulumi/pulumi";
import { createDockerEngine, resolveDockerHost } from "../../lib/compose/engine";
import { engineLiveness } from "../provider/engineLiveness";
import {
  checkComposeInputs,
  diffComposeInputs,
  type ComposeServiceInputs,
  type ComposeServiceOutputs,
} from "../../lib/compose/inputs";
import { isUp, scaleComposeService } from "../../lib/compose/scale";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { pulumiReporter } from "../provider/pulumiReporter";
import { ServiceCountResource } from "./serviceCountResource";
import { operatorFacing } from "../provider/operatorFacing";
import { timed } from "../provider/timed";

async function apply(inputs: ComposeServiceInputs): Promise<ComposeServiceOutputs> {
  const dockerHost = resolveDockerHost(inputs.dockerHost);
  const engine = createDockerEngine(dockerHost);
  const result = await scaleComposeService(
    engine,
    {
      project: inputs.projectName,
      service: inputs.service,
      count: inputs.count,
      timeoutSeconds: inputs.timeoutSeconds,
      pollSeconds: inputs.pollSeconds,
      ...(inputs.projectDirectory
        ? {
            compose: {
              dockerHost,
              projectDirectory: inputs.projectDirectory,
              ...(inputs.composeCli ? { cli: inputs.composeCli } : {}),
            },
          }
        : {}),
      signal: engineLiveness().signal,
    },
    pulumiReporter,
  );
  return { ...inputs, ...result };
}

export const composeServiceProvider: pulumi.dynamic.ResourceProvider = operatorFacing(
  timed({
    async check(_olds, news) {
      return { inputs: news, failures: checkComposeInputs(news) };
    },
    async diff(_id, olds, news) {
      const { changes, replaces } = diffComposeInputs(olds, news);
      return { changes, replaces, deleteBeforeReplace: false };
    },
    async create(inputs) {
      const outs = await apply(inputs);
      return { id: `${outs.projectName}/${outs.service}`, outs };
    },
    async update(_id, _olds, news) {
      return { outs: await apply(news) };
    },
    async read(id, props) {
      // Refresh records how many containers really run, so the next update puts a drifted service back.
      const current = props as ComposeServiceOutputs;
      const engine = createDockerEngine(resolveDockerHost(current.dockerHost));
      const containers = await engine.listServiceContainers(current.projectName, current.service);
      const count = containers.filter((c) => isUp(c.State)).length;
      // As inputs too, so that `preview --refresh` shows the way back (`count: 1 => 0`).
      const inputs: ComposeServiceInputs = {
        projectName: current.projectName,
        service: current.service,
        count,
        ...(current.dockerHost !== undefined ? { dockerHost: current.dockerHost } : {}),
        timeoutSeconds: current.timeoutSeconds,
        pollSeconds: current.pollSeconds,
        ...(current.projectDirectory !== undefined ? { projectDirectory: current.projectDirectory } : {}),
        ...(current.composeCli !== undefined ? { composeCli: current.composeCli } : {}),
      };
      return { id, props: { ...current, count }, inputs };
    },
    async delete() {
      // Never touch the containers: they belong to the operator's compose project.
    },
  }),
);

export interface ComposeServiceArgs {
  /** The Compose project (`compose.projectName`). */
  projectName: pulumi.Input<string>;
  /** The service's name in the project. */
  service: pulumi.Input<string>;
  /** How many of its containers run after this update. */
  count: pulumi.Input<number>;
  /** DOCKER_HOST form; unset: the provider's DOCKER_HOST or the default socket. */
  dockerHost?: pulumi.Input<string>;
  /** How long the containers may take to exit, or to run and be healthy. */
  timeoutSeconds: pulumi.Input<number>;
  /** Seconds between two reads of the containers. */
  pollSeconds: pulumi.Input<number>;
  /** The project's directory, so a startup can re-create containers whose config changed (an endpoint switch). */
  projectDirectory?: pulumi.Input<string>;
  /** A standalone `docker-compose` v2 binary; unset: `docker compose` on the provider's PATH. */
  composeCli?: pulumi.Input<string>;
}

export class ComposeService extends ServiceCountResource {
  // `declare`: a plain field would be reset to undefined after super() has filled it.
  declare public readonly containers: pulumi.Output<number>;

  constructor(name: string, args: ComposeServiceArgs, opts?: pulumi.CustomResourceOptions) {
    super(composeServiceProvider, DYNAMIC_TYPES.composeService, name, args, ["containers"], opts);
  }
}
