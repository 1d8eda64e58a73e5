import type * as K8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { envFilePath, type EndpointsConfig } from "../lib/endpoints/config";
import { switchRefusal } from "../lib/endpoints/guard";
import type { EndpointValues, TargetSpec } from "../lib/endpoints/targets";
import { COMPONENT_TYPES } from "../lib/names";
import type { Plan } from "../lib/plan";
import { APPLICATION_TIER } from "../lib/services";
import { EndpointSwitchResource, type EndpointSwitchInputs } from "./resources/endpointSwitch";

/** @pulumi/kubernetes, loaded only for a Kubernetes target: on others it would add a second to every update. */
const kubernetesSdk = () => require("@pulumi/kubernetes") as typeof K8s;

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

function targetSpec(args: EndpointSwitchArgs): TargetSpec {
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
 * The `endpoint-switch` gate: writes the new DATABASE_HOST / REDIS_URL where the platform
 * keeps them, and refuses any change of them unless the phase is shutdown with every
 * application service down (at preview already). Register it whenever `endpoints` is set,
 * in both phases: in running phase it writes nothing and is the record the guard compares
 * with (and the propagation gate reads `switchedAt` from). In shutdown, make it depend on
 * the last service step.
 */
export class EndpointSwitch extends pulumi.ComponentResource {
  public readonly databaseHost: pulumi.Output<string | undefined>;
  public readonly redisHost: pulumi.Output<string | undefined>;
  /** When this stack last wrote new values (ms since epoch). */
  public readonly switchedAt: pulumi.Output<number | undefined>;
  public readonly target: pulumi.Output<string>;
  public readonly backup: pulumi.Output<string | undefined>;
  public readonly previousDatabaseHost: pulumi.Output<string | undefined>;
  public readonly previousRedisHost: pulumi.Output<string | undefined>;
  /** The resource later steps depend on: the patch on Kubernetes, else the switch itself. */
  public readonly done: pulumi.Resource;
  /**
   * Why this update may not change endpoints (phase running, or an application service
   * kept up); undefined when it may. Registered as an output so that the policy pack,
   * which sees only outputs, can tell the record from the write.
   */
  public readonly refusal: string | undefined;

  constructor(name: string, args: EndpointSwitchArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(COMPONENT_TYPES.endpointSwitch, name, {}, opts);
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
      const k8s = kubernetesSdk();
      const id = `${target.namespace}/${target.name}`;
      const data =
        target.kind === "kubernetes-secret"
          ? k8s.core.v1.Secret.get(`${name}-live`, id, k8sOpts).data.apply((d) => ({
              databaseHost: decode(d?.[endpoints.keys.databaseHost]),
              redisUrl: decode(d?.[endpoints.keys.redisUrl]),
            }))
          : k8s.core.v1.ConfigMap.get(`${name}-live`, id, k8sOpts).data.apply((d) => ({
              databaseHost: d?.[endpoints.keys.databaseHost],
              redisUrl: d?.[endpoints.keys.redisUrl],
            }));
      live = pulumi.secret(data);
    }

    this.refusal = switchRefusal(args.plan);
    const inputs: Record<keyof EndpointSwitchInputs, unknown> = {
      phase: args.plan.phase,
      refusal: this.refusal,
      target,
      keys: endpoints.keys,
      databaseHost: endpoints.databaseHost,
      redisUrl: endpoints.redisUrl === undefined ? undefined : pulumi.secret(endpoints.redisUrl),
      reached,
      live,
    };
    const resource = new EndpointSwitchResource(name, inputs, { parent: this });
    this.done = resource;

    if (target.kind === "kubernetes-secret" || target.kind === "kubernetes-configmap") {
      this.done = this.patchKubernetes(name, target, endpoints, resource, k8sOpts);
    }

    this.databaseHost = resource.databaseHost;
    this.redisHost = resource.redisHost;
    this.switchedAt = resource.switchedAt;
    this.target = resource.target;
    this.backup = resource.backup;
    this.previousDatabaseHost = resource.previousDatabaseHost;
    this.previousRedisHost = resource.previousRedisHost;
    this.registerOutputs({
      databaseHost: this.databaseHost,
      redisHost: this.redisHost,
      switchedAt: this.switchedAt,
      target: this.target,
      backup: this.backup,
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
    const k8s = kubernetesSdk();
    return target.kind === "kubernetes-secret"
      ? new k8s.core.v1.SecretPatch(`${name}-values`, { metadata, data: values }, opts)
      : new k8s.core.v1.ConfigMapPatch(`${name}-values`, { metadata, data: values }, opts);
  }
}
