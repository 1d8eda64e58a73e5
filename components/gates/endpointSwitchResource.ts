import * as pulumi from "@pulumi/pulumi";
import type { AwsSettings } from "../../lib/aws/settings";
import { redisHost } from "../../lib/endpoints/config";
import {
  appliedFrom,
  assertSwitchAllowed,
  endpointChanges,
  sha256,
  type AppliedEndpoints,
} from "../../lib/endpoints/guard";
import {
  describeTarget,
  readTarget,
  writeTarget,
  type EndpointKeys,
  type EndpointValues,
  type TargetSpec,
} from "../../lib/endpoints/targets";
import { MaintenanceError, oneLine } from "../../lib/errors";
import type { Phase } from "../../lib/plan/services";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { withAwsSettings } from "../provider/awsSettings";
import { MaintenanceResource } from "../provider/maintenanceResource";
import { operatorFacing } from "../provider/operatorFacing";
import { timed } from "../provider/timed";

export interface EndpointSwitchInputs {
  phase: Phase;
  /** `switchRefusal(plan)`: why this plan may not change endpoints (undefined: it may). */
  refusal?: string;
  target: TargetSpec;
  keys: EndpointKeys;
  databaseHost?: string;
  /** Secret. */
  redisUrl?: string;
  /** Application-tier counts the service steps reached (unknown at preview). */
  reached: Record<string, number>;
  /** Kubernetes targets: the values the Secret/ConfigMap holds now, read by the program (secret). */
  live?: EndpointValues;
}

export interface EndpointSwitchOutputs {
  target: string;
  databaseHost?: string;
  redisHost?: string;
  /** Secret: compares REDIS_URL without keeping it. */
  redisUrlSha256?: string;
  /** When this stack last wrote new values (ms since epoch): the propagation gate waits the TTL from here. */
  switchedAt?: number;
  /** Where the previous content is kept. */
  backup?: string;
  previousDatabaseHost?: string;
  previousRedisHost?: string;
}

function applied(outs: Partial<EndpointSwitchOutputs> | undefined): AppliedEndpoints | undefined {
  if (!outs || (outs.databaseHost === undefined && outs.redisUrlSha256 === undefined)) return undefined;
  return { databaseHost: outs.databaseHost, redisUrlSha256: outs.redisUrlSha256, redisHost: outs.redisHost };
}

/** Counts are unknown during preview; only a known number can show a service still up. */
function knownCounts(reached: Record<string, unknown> | undefined): Record<string, number> {
  return Object.fromEntries(
    Object.entries(reached ?? {}).filter((e): e is [string, number] => typeof e[1] === "number"),
  );
}

async function apply(
  inputs: EndpointSwitchInputs,
  previous: Partial<EndpointSwitchOutputs> | undefined,
  aws: AwsSettings,
) {
  // Without a previous state, what the target holds now is what was last applied.
  const before = applied(previous) ?? (await liveApplied(inputs, aws));
  assertSwitchAllowed(before, inputs, inputs.refusal, knownCounts(inputs.reached));
  const desired = appliedFrom(inputs, redisHost);
  const base: EndpointSwitchOutputs = { target: describeTarget(inputs.target), ...desired };
  if (inputs.phase !== "shutdown" || inputs.refusal) {
    // Running phase: nothing is written; the record carries the last switch forward.
    return { ...pickHistory(previous), ...base };
  }
  // Kubernetes targets are written by the component's server-side-apply patch, after this record.
  const result = isKubernetes(inputs.target)
    ? {
        changed: !before || endpointChanges(before, inputs).length > 0,
        previous: inputs.live ?? {},
        backup: undefined,
      }
    : await writeTarget(inputs.target, inputs.keys, inputs, new Date(), aws);
  if (!result.changed) return { ...pickHistory(previous), ...base };
  pulumi.log.info(
    `endpoint-switch: new ${Object.keys(inputs.keys)
      .filter((k) => inputs[k as keyof EndpointValues] !== undefined)
      .join(", ")} for ${base.target}${result.backup ? `; previous kept at ${result.backup}` : ""}`,
  );
  return {
    ...base,
    switchedAt: Date.now(),
    ...(result.backup ? { backup: result.backup } : {}),
    ...(result.previous.databaseHost !== undefined
      ? { previousDatabaseHost: result.previous.databaseHost }
      : {}),
    ...(result.previous.redisUrl !== undefined
      ? { previousRedisHost: redisHost(result.previous.redisUrl) }
      : {}),
  };
}

function isKubernetes(target: TargetSpec): boolean {
  return target.kind === "kubernetes-secret" || target.kind === "kubernetes-configmap";
}

/** What the target holds now, as the baseline when this stack has no record of a switch yet. Never writes. */
async function liveApplied(
  inputs: EndpointSwitchInputs,
  aws: AwsSettings,
): Promise<AppliedEndpoints | undefined> {
  const live = isKubernetes(inputs.target)
    ? inputs.live
    : await readTarget(inputs.target, inputs.keys, aws).catch((error: unknown) => {
        throw new MaintenanceError(
          `endpoint-switch: reading ${describeTarget(inputs.target)} failed: ${oneLine(error)}`,
        );
      });
  return live ? appliedFrom(live, redisHost) : undefined;
}

function pickHistory(previous: Partial<EndpointSwitchOutputs> | undefined): Partial<EndpointSwitchOutputs> {
  if (!previous) return {};
  const { switchedAt, backup, previousDatabaseHost, previousRedisHost } = previous;
  return Object.fromEntries(
    Object.entries({ switchedAt, backup, previousDatabaseHost, previousRedisHost }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

/**
 * Writes DATABASE_HOST / REDIS_URL into the platform's target, and refuses any change of
 * them that the plan does not allow: in `check` against the previous inputs and in `diff`
 * against what was applied (both run at preview), and again before writing against the
 * counts the service steps reached. Deleting it leaves the target as it is.
 */
export const endpointSwitchProvider: pulumi.dynamic.ResourceProvider = withAwsSettings((aws) =>
  operatorFacing(
    timed({
      async check(olds: Partial<EndpointSwitchInputs>, news: EndpointSwitchInputs) {
        const known = olds.databaseHost !== undefined || olds.redisUrl !== undefined;
        // A first registration compares with the live target (a read), so even that is refused at preview.
        const before = known
          ? appliedFrom(olds, redisHost)
          : news.refusal
            ? await liveApplied(news, aws())
            : undefined;
        assertSwitchAllowed(before, news, news.refusal);
        return { inputs: news };
      },

      async diff(_id: string, olds: EndpointSwitchOutputs, news: EndpointSwitchInputs) {
        assertSwitchAllowed(applied(olds), news, news.refusal);
        const changes =
          olds.target !== describeTarget(news.target) ||
          olds.databaseHost !== news.databaseHost ||
          olds.redisUrlSha256 !== (news.redisUrl === undefined ? undefined : sha256(news.redisUrl));
        return { changes };
      },

      async create(inputs: EndpointSwitchInputs) {
        const outs = await apply(inputs, undefined, aws());
        return { id: `endpoint-switch-${describeTarget(inputs.target)}`, outs };
      },

      async update(_id: string, olds: EndpointSwitchOutputs, news: EndpointSwitchInputs) {
        return { outs: await apply(news, olds, aws()) };
      },

      async delete() {
        // The target is the operator's configuration: it keeps the values last written.
      },
    }),
  ),
);

/** The `endpoint-switch` gate's resource; its inputs are EndpointSwitchInputs. */
export class EndpointSwitchResource extends MaintenanceResource {
  declare readonly target: pulumi.Output<string>;
  declare readonly databaseHost: pulumi.Output<string | undefined>;
  declare readonly redisHost: pulumi.Output<string | undefined>;
  declare readonly switchedAt: pulumi.Output<number | undefined>;
  declare readonly backup: pulumi.Output<string | undefined>;
  declare readonly previousDatabaseHost: pulumi.Output<string | undefined>;
  declare readonly previousRedisHost: pulumi.Output<string | undefined>;

  constructor(
    name: string,
    inputs: Record<keyof EndpointSwitchInputs, unknown>,
    opts: pulumi.CustomResourceOptions,
  ) {
    super(
      endpointSwitchProvider,
      DYNAMIC_TYPES.endpointSwitch,
      name,
      inputs,
      [
        "target",
        "databaseHost",
        "redisHost",
        "redisUrlSha256",
        "switchedAt",
        "backup",
        "previousDatabaseHost",
        "previousRedisHost",
      ],
      { ...opts, additionalSecretOutputs: ["redisUrlSha256"] },
    );
  }
}
