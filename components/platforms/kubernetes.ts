import type * as K8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { CoreConfig } from "../../lib/config/core";
import { gracePeriodWarning } from "../../lib/kubernetes/workload";
import type { ServiceStep } from "../../lib/plan/plan";
import { KedaPause } from "./kedaPause";
import { KubernetesRollout } from "./kubernetesRollout";
import type { PlatformAdapter, ScaleServiceOptions, ScaledService } from "./adapter";

export interface KubernetesAdapterOptions {
  /** Parent of the one Kubernetes provider; default: the stack. Must not change between updates. */
  parent?: pulumi.Resource;
  /** Longest pause between two polls of the rollout wait (the first are shorter); default 5. */
  pollSeconds?: number;
}

/** Pulumi name of the adapter's provider: fixed, because every patch references it by URN. */
export const KUBERNETES_PROVIDER_NAME = "tines-kubernetes";

/**
 * Annotations of every replicas patch. patchForce takes spec.replicas from Helm's field
 * manager; skipAwait leaves the waiting to KubernetesRollout, because the provider's
 * Deployment awaiter counts a scale to 0 done while pods are still terminating.
 */
export const PATCH_ANNOTATIONS = { "pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true" } as const;

/**
 * Kubernetes: per service, four resources under the service step, in this order:
 *  1. `<key>-before`: a read of the live Deployment/StatefulSet (previousCount, and at preview
 *     the Sidekiq grace-period check). Reads run at preview too and change nothing.
 *  2. `<key>-keda`: pauses a KEDA ScaledObject targeting the workload at 0 (shutdown), or
 *     removes that pause (running), before the count changes; a no-op without one.
 *  3. `<key>`: a DeploymentPatch/StatefulSetPatch that server-side-applies spec.replicas only.
 *  4. `<key>-rollout`: waits until pods are gone (down) or all replicas ready (up).
 * The provider is created once here, not per step, so that its URN is the same in both phases.
 */
export function createKubernetesAdapter(
  kubernetes: CoreConfig["kubernetes"],
  options: KubernetesAdapterOptions = {},
): PlatformAdapter {
  // Loaded here, not at the top: on ECS and Compose it would add a second to every update.
  const k8s = require("@pulumi/kubernetes") as typeof K8s;
  const provider = new k8s.Provider(
    KUBERNETES_PROVIDER_NAME,
    {
      // Empty, not the SDK's default of $KUBECONFIG's path: given any kubeconfig, the plugin
      // writes a copy of it (client keys and tokens) to a temp file it never removes, once per
      // run. Empty, it resolves $KUBECONFIG itself by client-go's loading rules: the same file
      // and context, and no copy.
      kubeconfig: "",
      namespace: kubernetes.namespace,
      ...(kubernetes.context ? { context: kubernetes.context } : {}),
      enableServerSideApply: true,
    },
    options.parent ? { parent: options.parent } : {},
  );

  return {
    platform: "kubernetes",
    provider,
    versionSource: {
      platform: "kubernetes",
      namespace: kubernetes.namespace,
      ...(kubernetes.context ? { context: kubernetes.context } : {}),
    },
    scaleService(step: ServiceStep, opts: ScaleServiceOptions): ScaledService {
      const kind = step.workloadKind ?? "Deployment";
      const namespace = kubernetes.namespace;
      const id = `${namespace}/${step.workloadName}`;
      // The live object may carry inline env values; keep its spec encrypted in state.
      const readOpts: pulumi.CustomResourceOptions = {
        provider,
        parent: opts.parent,
        additionalSecretOutputs: ["spec"],
      };
      const live =
        kind === "StatefulSet"
          ? k8s.apps.v1.StatefulSet.get(`${step.name}-before`, id, readOpts)
          : k8s.apps.v1.Deployment.get(`${step.name}-before`, id, readOpts);

      // KEDA resumes before the count is restored, so that startup ends with the count the
      // autoscaler will keep; a pause left in place would hold the workload at 0.
      const keda = new KedaPause(
        `${step.name}-keda`,
        {
          namespace,
          kind,
          name: step.workloadName,
          paused: step.targetCount === 0,
          ...(kubernetes.context ? { context: kubernetes.context } : {}),
        },
        { parent: opts.parent, dependsOn: [live] },
      );

      const patchArgs = {
        metadata: { name: step.workloadName, namespace, annotations: { ...PATCH_ANNOTATIONS } },
        spec: { replicas: step.targetCount },
      };
      // retainOnDelete: deleting a patch gives up spec.replicas, which can reset the count;
      // removing a service from config must leave its workload as it is.
      const patchOpts: pulumi.CustomResourceOptions = {
        provider,
        parent: opts.parent,
        dependsOn: [live, keda],
        retainOnDelete: true,
      };
      const patch =
        kind === "StatefulSet"
          ? new k8s.apps.v1.StatefulSetPatch(step.name, patchArgs, patchOpts)
          : new k8s.apps.v1.DeploymentPatch(step.name, patchArgs, patchOpts);

      const rollout = new KubernetesRollout(
        `${step.name}-rollout`,
        {
          namespace,
          kind,
          name: step.workloadName,
          targetCount: step.targetCount,
          timeoutSeconds: opts.timeoutSeconds,
          ...(kubernetes.context ? { context: kubernetes.context } : {}),
          ...(options.pollSeconds ? { pollSeconds: options.pollSeconds } : {}),
        },
        { parent: opts.parent, dependsOn: [patch] },
      );

      const liveSpec = live.spec as pulumi.Output<{
        replicas?: number;
        template?: { spec?: { terminationGracePeriodSeconds?: number } };
      }>;
      const previousCount = pulumi.unsecret(liveSpec).apply((spec) => {
        if (step.name === "tines-sidekiq" && step.targetCount === 0) {
          const warning = gracePeriodWarning(
            step.workloadName,
            spec?.template?.spec?.terminationGracePeriodSeconds,
          );
          if (warning) void pulumi.log.warn(warning, patch);
        }
        return spec?.replicas;
      });
      return { resource: patch, previousCount, reachedCount: rollout.reachedCount };
    },
  };
}
