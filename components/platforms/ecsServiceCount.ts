/**
 * Dynamic provider that holds one existing ECS service at a desired count. It never creates
 * or deletes the service: `create` adopts the count of a service other tooling created, and
 * `delete` only forgets it.
 */
import { createEcsApi } from "../../lib/ecs/api";
import {
  checkEcsInputs,
  diffEcsInputs,
  type EcsServiceCountInputs,
  type EcsServiceCountOutputs,
} from "../../lib/ecs/inputs";
import { scaleEcsService } from "../../lib/ecs/scale";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";

async function apply(
  inputs: EcsServiceCountInputs,
  olds: Partial<EcsServiceCountOutputs>,
  { aws, reporter, signal }: ProviderContext,
): Promise<EcsServiceCountOutputs> {
  const api = createEcsApi({ region: inputs.region, endpoint: inputs.endpoint, aws });
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
      signal,
    },
    reporter,
  );
  return { ...inputs, ...result };
}

export const ecsServiceCountProvider = defineProvider(
  {
    type: DYNAMIC_TYPES.ecsServiceCount,
    outputs: ["previousCount", "reachedCount", "savedBounds", "scalableTarget"],
    check: checkEcsInputs,
    diff(olds, news) {
      const { changes, replaces } = diffEcsInputs(olds, news as unknown as EcsServiceCountInputs);
      return { changes, replaces, deleteBeforeReplace: false };
    },
    create: (inputs: EcsServiceCountInputs, context: ProviderContext) => apply(inputs, {}, context),
    id: (outs) => `${outs.cluster}/${outs.service}`,
    update: (olds, news, context) => apply(news, olds, context),
    async read(_id, current, { aws }) {
      // Refresh records the live count in the outputs and in the inputs, so `preview --refresh`
      // shows a hand-made change as `desiredCount: 5 => 3` and the next update puts it back.
      const api = createEcsApi({ region: current.region, endpoint: current.endpoint, aws });
      const live = (await api.describeService(current.cluster, current.service)).services?.[0];
      if (!live) return { props: current };
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
      return { props: { ...current, desiredCount }, inputs };
    },
    delete: "Never touch the service: it belongs to the tooling that created it.",
  },
  { aws: true },
);

/** Holds one existing ECS service at a count; auto scaling bounds pinned by a shutdown are in `savedBounds`. */
export class EcsServiceCount extends dynamicResource(ecsServiceCountProvider) {}
