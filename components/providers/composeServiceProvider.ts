/**
 * Dynamic provider that holds one service of the operator's Compose project at a running
 * count, as `docker compose stop/start` would. It never creates or removes containers, and
 * `delete` leaves them as they are.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createDockerEngine, resolveDockerHost } from "../../lib/compose/engine";
import {
  checkComposeInputs,
  diffComposeInputs,
  type ComposeServiceInputs,
  type ComposeServiceOutputs,
} from "../../lib/compose/inputs";
import { isUp, scaleComposeService } from "../../lib/compose/scale";
import { pulumiReporter } from "./pulumiReporter";
import { operatorFacing } from "./operatorFacing";
import { timed } from "./timed";

async function apply(inputs: ComposeServiceInputs): Promise<ComposeServiceOutputs> {
  const engine = createDockerEngine(resolveDockerHost(inputs.dockerHost));
  const result = await scaleComposeService(
    engine,
    {
      project: inputs.projectName,
      service: inputs.service,
      count: inputs.count,
      timeoutSeconds: inputs.timeoutSeconds,
      pollSeconds: inputs.pollSeconds,
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
      };
      return { id, props: { ...current, count }, inputs };
    },
    async delete() {
      // Never touch the containers: they belong to the operator's compose project.
    },
  }),
);
