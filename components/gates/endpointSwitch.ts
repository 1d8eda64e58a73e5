/**
 * The `endpoint-switch` gate: writes the new DATABASE_HOST / REDIS_URL where the platform keeps
 * them (an env file, S3, Secrets Manager, or, on Kubernetes, a server-side-apply patch of the
 * Secret or ConfigMap the chart renders), and refuses any change of them unless the phase is
 * shutdown with every application service down, at preview already. In shutdown it is the last
 * step; in running it stands ahead of the steps, writes nothing, and is the record the guard
 * compares with (and the propagation gate and the window read `switchedAt` from).
 */
import type * as K8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AwsSettings } from "../../lib/aws/settings";
import { envFilePath, redisHost, type EndpointsConfig } from "../../lib/endpoints/config";
import {
  appliedFrom,
  assertSwitchAllowed,
  endpointChanges,
  sha256,
  switchRefusal,
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
import { ENDPOINT_SWITCH_NAME, GATE_TYPES } from "../../lib/plan/names";
import type { Plan } from "../../lib/plan/plan";
import { APPLICATION_TIER, type Phase } from "../../lib/plan/services";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { defineGate, outputsOf, type GateContext } from "./gate";

/** @pulumi/kubernetes, loaded only for a Kubernetes target: on others it would add a second to every update. */
const kubernetesSdk = () => require("@pulumi/kubernetes") as typeof K8s;

const TYPES = GATE_TYPES["endpoint-switch"];

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
  { aws, reporter }: ProviderContext,
): Promise<EndpointSwitchOutputs> {
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
  reporter.info(
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
export const endpointSwitchProvider = defineProvider(
  {
    type: TYPES.resources.switch,
    outputs: [
      "target",
      "databaseHost",
      "redisHost",
      "redisUrlSha256",
      "switchedAt",
      "backup",
      "previousDatabaseHost",
      "previousRedisHost",
    ],
    secretOutputs: ["redisUrlSha256"],
    async check(news, olds, { aws }) {
      const next = news as unknown as EndpointSwitchInputs;
      const known = olds.databaseHost !== undefined || olds.redisUrl !== undefined;
      // A first registration compares with the live target (a read), so even that is refused at preview.
      const before = known
        ? appliedFrom(olds as Partial<EndpointSwitchInputs>, redisHost)
        : next.refusal
          ? await liveApplied(next, aws)
          : undefined;
      assertSwitchAllowed(before, next, next.refusal);
      return [];
    },
    diff(olds, news) {
      const previous = olds as Partial<EndpointSwitchOutputs>;
      const next = news as unknown as EndpointSwitchInputs;
      assertSwitchAllowed(applied(previous), next, next.refusal);
      const changes =
        previous.target !== describeTarget(next.target) ||
        previous.databaseHost !== next.databaseHost ||
        previous.redisUrlSha256 !== (next.redisUrl === undefined ? undefined : sha256(next.redisUrl));
      return { changes };
    },
    create: (inputs: EndpointSwitchInputs, context: ProviderContext) => apply(inputs, undefined, context),
    id: (outs) => `endpoint-switch-${outs.target}`,
    update: (olds, news, context) => apply(news, olds, context),
    delete: "The target is the operator's configuration: it keeps the values last written.",
  },
  { aws: true },
);

export class EndpointSwitchResource extends dynamicResource(endpointSwitchProvider) {}

export interface EndpointSwitchArgs {
  plan: Plan;
  endpoints: EndpointsConfig;
  /** For the default Compose target `<projectDirectory>/.env`. */
  composeProjectDirectory?: string;
  /** For Kubernetes targets without their own namespace. */
  kubernetesNamespace: string;
  /** Counts the application-tier service steps reached, by service key (shutdown: they must all be 0). */
  reached?: Record<string, pulumi.Input<number>>;
  /** Kubernetes provider for the patch and the read of the live values. */
  kubernetesProvider?: pulumi.ProviderResource;
}

/** Where the switch writes: the endpoints target with the Compose file and the namespace resolved. */
export function targetSpec(
  args: Pick<EndpointSwitchArgs, "endpoints" | "composeProjectDirectory" | "kubernetesNamespace">,
): TargetSpec {
  const target = args.endpoints.target;
  if (target.kind === "env-file")
    return { kind: "env-file", path: envFilePath(target, args.composeProjectDirectory) };
  if (target.kind === "kubernetes-secret" || target.kind === "kubernetes-configmap") {
    return { ...target, namespace: target.namespace ?? args.kubernetesNamespace };
  }
  return target;
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

/**
 * Register it whenever `endpoints` is set, in both phases: in running phase it writes nothing
 * and is the record the guard compares with. In shutdown, make it depend on the last service step.
 */
export class EndpointSwitch extends pulumi.ComponentResource {
  public readonly resource: EndpointSwitchResource;
  /** The resource later steps depend on: the patch on Kubernetes, else the switch itself. */
  public readonly done: pulumi.Resource;
  /**
   * Why this update may not change endpoints (phase running, or an application service
   * kept up); undefined when it may. Registered as an output so that the policy pack,
   * which sees only outputs, can tell the record from the write.
   */
  public readonly refusal: string | undefined;

  constructor(name: string, args: EndpointSwitchArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(TYPES.component, name, {}, opts);
    const { endpoints } = args;
    const target = targetSpec(args);
    const reached: Record<string, pulumi.Input<number>> = {};
    for (const [key, count] of Object.entries(args.reached ?? {})) {
      if ((APPLICATION_TIER as readonly string[]).includes(key)) reached[key] = count;
    }

    let live: pulumi.Output<EndpointValues> | undefined;
    const k8sOpts = {
      parent: this,
      ...(args.kubernetesProvider ? { provider: args.kubernetesProvider } : {}),
    };
    if (target.kind === "kubernetes-secret" || target.kind === "kubernetes-configmap") {
      const id = `${target.namespace}/${target.name}`;
      const data =
        target.kind === "kubernetes-secret"
          ? kubernetesSdk()
              .core.v1.Secret.get(`${name}-live`, id, k8sOpts)
              .data.apply((d) => ({
                databaseHost: decode(d?.[endpoints.keys.databaseHost]),
                redisUrl: decode(d?.[endpoints.keys.redisUrl]),
              }))
          : kubernetesSdk()
              .core.v1.ConfigMap.get(`${name}-live`, id, k8sOpts)
              .data.apply((d) => ({
                databaseHost: d?.[endpoints.keys.databaseHost],
                redisUrl: d?.[endpoints.keys.redisUrl],
              }));
      live = pulumi.secret(data);
    }

    this.refusal = switchRefusal(args.plan);
    const resource = new EndpointSwitchResource(
      name,
      {
        phase: args.plan.phase,
        refusal: this.refusal,
        target,
        keys: endpoints.keys,
        databaseHost: endpoints.databaseHost,
        redisUrl: endpoints.redisUrl === undefined ? undefined : pulumi.secret(endpoints.redisUrl),
        reached: pulumi.output(reached),
        live,
      },
      { parent: this },
    );
    this.resource = resource;
    this.done = resource;

    if (target.kind === "kubernetes-secret" || target.kind === "kubernetes-configmap") {
      this.done = this.patchKubernetes(name, target, endpoints, resource, k8sOpts);
    }

    this.registerOutputs({
      ...outputsOf(resource, ["databaseHost", "redisHost", "switchedAt", "target", "backup"]),
      ...(this.refusal === undefined ? {} : { refusal: this.refusal }),
    });
  }

  /**
   * Server-side apply of the two keys into the object the chart renders, forcing ownership
   * of those keys only. Kept in the stack in both phases and retained on delete, because
   * deleting a patch relinquishes its fields and could drop the keys.
   */
  private patchKubernetes(
    name: string,
    target: Extract<TargetSpec, { kind: "kubernetes-secret" | "kubernetes-configmap" }>,
    endpoints: EndpointsConfig,
    after: pulumi.Resource,
    k8sOpts: { parent: pulumi.Resource; provider?: pulumi.ProviderResource },
  ): pulumi.Resource {
    const metadata = {
      name: target.name,
      namespace: target.namespace,
      annotations: { "pulumi.com/patchForce": "true" },
    };
    const values: Record<string, pulumi.Input<string>> = {};
    const encode = (value: string) =>
      target.kind === "kubernetes-secret" ? Buffer.from(value, "utf8").toString("base64") : value;
    if (endpoints.databaseHost !== undefined)
      values[endpoints.keys.databaseHost] = encode(endpoints.databaseHost);
    if (endpoints.redisUrl !== undefined)
      values[endpoints.keys.redisUrl] = pulumi.secret(encode(endpoints.redisUrl));
    const opts = { ...k8sOpts, dependsOn: [after], retainOnDelete: true };
    return target.kind === "kubernetes-secret"
      ? new (kubernetesSdk().core.v1.SecretPatch)(`${name}-values`, { metadata, data: values }, opts)
      : new (kubernetesSdk().core.v1.ConfigMapPatch)(`${name}-values`, { metadata, data: values }, opts);
  }
}

function register(
  endpoints: EndpointsConfig,
  { config, plan, adapter, serviceSteps }: GateContext,
  opts: pulumi.ComponentResourceOptions,
) {
  return new EndpointSwitch(
    ENDPOINT_SWITCH_NAME,
    {
      plan,
      endpoints,
      composeProjectDirectory: config.compose.projectDirectory,
      kubernetesNamespace: config.kubernetes.namespace,
      kubernetesProvider: adapter.provider,
      reached: Object.fromEntries([...serviceSteps].map(([key, step]) => [key, step.reachedCount])),
    },
    opts,
  );
}

export const endpointSwitchGate = defineGate(ENDPOINT_SWITCH_NAME, {
  register: ({ endpoints }, context, opts) => register(endpoints, context, opts),
  // In running the switch writes nothing: it holds the values last applied, so that a change
  // made with phase running is refused (at preview already) before anything starts. The window
  // and the propagation gate read it, so it stands ahead of the steps.
  standing: (context, opts) => {
    const endpoints = context.config.endpoints;
    return context.plan.phase === "running" && endpoints ? register(endpoints, context, opts) : undefined;
  },
  audit: ({ resource }) => ({
    endpointSwitch: outputsOf(resource, [
      "databaseHost",
      "redisHost",
      "previousDatabaseHost",
      "previousRedisHost",
      "switchedAt",
      "backup",
    ]),
  }),
});
