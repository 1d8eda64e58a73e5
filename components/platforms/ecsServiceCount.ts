/**
 * Dynamic provider that holds one existing ECS service at a desired count. It never creates
 * or deletes the service: `create` adopts the count of a service other tooling created, and
 * `delete` only forgets it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ScalableTargetBounds } from "../../lib/ecs/api";
import type { AwsSettings } from "../../lib/aws/settings";
import { createEcsApi } from "../../lib/ecs/api";
import {
  checkEcsInputs,
  diffEcsInputs,
  type EcsServiceCountInputs,
  type EcsServiceCountOutputs,
} from "../../lib/ecs/inputs";
import { scaleEcsService } from "../../lib/ecs/scale";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { withAwsSettings } from "../provider/awsSettings";
import { pulumiReporter } from "../provider/pulumiReporter";
import { ServiceCountResource } from "./serviceCountResource";
import { operatorFacing } from "../provider/operatorFacing";
import { timed } from "../provider/timed";
import { engineLiveness } from "../provider/engineLiveness";

async function apply(
  inputs: EcsServiceCountInputs,
  olds: Partial<EcsServiceCountOutputs>,
  aws: AwsSettings,
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
      signal: engineLiveness().signal,
    },
    pulumiReporter,
  );
  return { ...inputs, ...result };
}

export const ecsServiceCountProvider: pulumi.dynamic.ResourceProvider = withAwsSettings((aws) =>
  operatorFacing(
    timed({
      async check(_olds, news) {
        return { inputs: news, failures: checkEcsInputs(news) };
      },
      async diff(_id, olds, news) {
        const { changes, replaces } = diffEcsInputs(olds, news);
        return { changes, replaces, deleteBeforeReplace: false };
      },
      async create(inputs) {
        const outs = await apply(inputs, {}, aws());
        return { id: `${outs.cluster}/${outs.service}`, outs };
      },
      async update(_id, olds, news) {
        return { outs: await apply(news, olds, aws()) };
      },
      async read(id, props) {
        // Refresh records the live count in the outputs and in the inputs, so `preview --refresh`
        // shows a hand-made change as `desiredCount: 5 => 3` and the next update puts it back.
        const current = props as EcsServiceCountOutputs;
        const api = createEcsApi({
          region: current.region,
          endpoint: current.endpoint,
          aws: aws(),
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
  ),
);

export interface EcsServiceCountArgs {
  /** The ECS cluster's name or ARN. */
  cluster: pulumi.Input<string>;
  /** The existing ECS service's name. */
  service: pulumi.Input<string>;
  /** The count this update holds the service at. */
  desiredCount: pulumi.Input<number>;
  /** `ecs.region` / `ecs.endpoint`, over the stack's `aws:*` settings. */
  region?: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  /** How long ECS may take to report the service stable at the count. */
  timeoutSeconds: pulumi.Input<number>;
  /** Seconds between two reads of the service. */
  pollSeconds: pulumi.Input<number>;
}

export class EcsServiceCount extends ServiceCountResource {
  /** Auto scaling bounds pinned by a shutdown, until the startup puts them back. */
  declare public readonly savedBounds: pulumi.Output<ScalableTargetBounds | undefined>;

  constructor(name: string, args: EcsServiceCountArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      ecsServiceCountProvider,
      DYNAMIC_TYPES.ecsServiceCount,
      name,
      args,
      ["savedBounds", "scalableTarget"],
      opts,
    );
  }
}
