/**
 * Dynamic provider that holds one existing ECS service at a desired count. It never creates
 * or deletes the service: `create` adopts the count of a service other tooling created, and
 * `delete` only forgets it.
 */
import type * as pulumi from "@pulumi/pulumi";
import { awsSettingsFromConfig, type AwsSettings } from "../../lib/aws/settings";
import { createEcsApi } from "../../lib/ecs/api";
import {
  checkEcsInputs,
  diffEcsInputs,
  type EcsServiceCountInputs,
  type EcsServiceCountOutputs,
} from "../../lib/ecs/inputs";
import { scaleEcsService } from "../../lib/ecs/scale";
import { pulumiReporter } from "./pulumiReporter";
import { operatorFacing } from "./operatorFacing";
import { timed } from "./timed";

// The stack's `aws:*` settings, filled by `configure` in the provider process: the serialized
// provider carries none of them, so a new profile or region applies without touching state.
const stackSettings: { aws: AwsSettings } = { aws: {} };

async function apply(
  inputs: EcsServiceCountInputs,
  olds: Partial<EcsServiceCountOutputs>,
): Promise<EcsServiceCountOutputs> {
  const api = createEcsApi({ region: inputs.region, endpoint: inputs.endpoint, aws: stackSettings.aws });
  const result = await scaleEcsService(
    api,
    {
      cluster: inputs.cluster,
      service: inputs.service,
      desiredCount: inputs.desiredCount,
      timeoutSeconds: inputs.timeoutSeconds,
      pollSeconds: inputs.pollSeconds,
      // Bounds saved for another service are not this one's.
      savedBounds:
        olds.cluster === inputs.cluster && olds.service === inputs.service ? olds.savedBounds : undefined,
    },
    pulumiReporter,
  );
  return { ...inputs, ...result };
}

export const ecsServiceCountProvider: pulumi.dynamic.ResourceProvider = operatorFacing(
  timed({
    async configure(req) {
      stackSettings.aws = awsSettingsFromConfig((key) => req.config.get(key));
    },
    async check(_olds, news) {
      return { inputs: news, failures: checkEcsInputs(news) };
    },
    async diff(_id, olds, news) {
      const { changes, replaces } = diffEcsInputs(olds, news);
      return { changes, replaces, deleteBeforeReplace: false };
    },
    async create(inputs) {
      const outs = await apply(inputs, {});
      return { id: `${outs.cluster}/${outs.service}`, outs };
    },
    async update(_id, olds, news) {
      return { outs: await apply(news, olds) };
    },
    async read(id, props) {
      // Refresh records the live count in the outputs and in the inputs, so `preview --refresh`
      // shows a hand-made change as `desiredCount: 5 => 3` and the next update puts it back.
      const current = props as EcsServiceCountOutputs;
      const api = createEcsApi({
        region: current.region,
        endpoint: current.endpoint,
        aws: stackSettings.aws,
      });
      const live = (await api.describeService(current.cluster, current.service)).services?.[0];
      if (!live) return { id, props: current };
      const desiredCount = live.desiredCount ?? current.desiredCount;
      const inputs: EcsServiceCountInputs = {
        cluster: current.cluster,
        service: current.service,
        desiredCount,
        ...(current.region !== undefined ? { region: current.region } : {}),
        ...(current.endpoint !== undefined ? { endpoint: current.endpoint } : {}),
        timeoutSeconds: current.timeoutSeconds,
        pollSeconds: current.pollSeconds,
      };
      return { id, props: { ...current, desiredCount }, inputs };
    },
    async delete() {
      // Never touch the service: it belongs to the tooling that created it.
    },
  }),
);
