/**
 * Dynamic provider that holds one service of the operator's Compose project at a running
 * count, as `docker compose stop/start` would. It never adds or removes containers (a startup
 * re-creates, as `docker compose up` would, only those whose configuration changed), and
 * `delete` leaves them as they are.
 */
import { createDockerEngine, resolveDockerHost } from "../../lib/compose/engine";
import {
  checkComposeInputs,
  diffComposeInputs,
  type ComposeServiceInputs,
  type ComposeServiceOutputs,
} from "../../lib/compose/inputs";
import { isUp, scaleComposeService } from "../../lib/compose/scale";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";

async function apply(
  inputs: ComposeServiceInputs,
  { reporter, signal }: ProviderContext,
): Promise<ComposeServiceOutputs> {
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
      signal,
    },
    reporter,
  );
  return { ...inputs, ...result };
}

export const composeServiceProvider = defineProvider({
  type: DYNAMIC_TYPES.composeService,
  outputs: ["previousCount", "reachedCount", "containers"],
  check: checkComposeInputs,
  diff(olds, news) {
    const { changes, replaces } = diffComposeInputs(olds, news as unknown as ComposeServiceInputs);
    return { changes, replaces, deleteBeforeReplace: false };
  },
  create: (inputs: ComposeServiceInputs, context: ProviderContext) => apply(inputs, context),
  id: (outs) => `${outs.projectName}/${outs.service}`,
  update: (_olds, news, context) => apply(news, context),
  async read(_id, current) {
    // Refresh records how many containers really run, so the next update puts a drifted service back.
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
    return { props: { ...current, count }, inputs };
  },
  delete: "Never touch the containers: they belong to the operator's compose project.",
});

export class ComposeService extends dynamicResource(composeServiceProvider) {}
