/**
 * The running version of each Tines service, as its platform reports it: the ECS task
 * definition (its ARN ends in the revision), the image of a Compose service's containers
 * (name and image id: a re-pulled `latest` is a new version), the images of a Kubernetes
 * pod template. Reads only.
 */
import { createDockerEngine, resolveDockerHost } from "../compose/engine";
import type { AwsSettings } from "../aws/settings";
import { createEcsApi } from "../ecs/api";
import { MaintenanceError } from "../errors";
import { createKubeClient, kubePaths, type KubeClient } from "../kubernetes/client";
import { resolveConnection } from "../kubernetes/kubeconfig";
import { templateImages, type Workload } from "../kubernetes/workload";
import type { ServiceKey, WorkloadKind } from "../plan/services";
import type { WorkloadVersions } from "./record";

/** The services whose version the guard records: Tines' own images, not the data stores or proxy. */
export const VERSIONED_SERVICES: readonly ServiceKey[] = [
  "tines-app",
  "tines-sidekiq",
  "tines-command-runner",
];

export interface VersionedWorkload {
  name: string;
  /** Kubernetes only. */
  kind?: WorkloadKind;
}

/** Where to read versions from; plain data, so it can be a dynamic resource's input. */
export type VersionSource =
  | { platform: "ecs"; cluster: string; region?: string; endpoint?: string }
  | { platform: "compose"; projectName: string; dockerHost?: string }
  | { platform: "kubernetes"; namespace: string; context?: string };

/** Version of each service by key; a service the platform does not know is an error naming it. */
export async function readWorkloadVersions(
  source: VersionSource,
  workloads: Record<string, VersionedWorkload>,
  aws: AwsSettings = {},
): Promise<WorkloadVersions> {
  const entries = Object.entries(workloads);
  const versions: WorkloadVersions = {};
  if (source.platform === "ecs") {
    const api = createEcsApi({ region: source.region, endpoint: source.endpoint, aws });
    for (const [key, workload] of entries) {
      const service = (await api.describeService(source.cluster, workload.name)).services?.[0];
      if (!service?.taskDefinition) {
        throw new MaintenanceError(
          `version guard: ECS service "${workload.name}" (cluster ${source.cluster}) not found; check services.${key}.name`,
        );
      }
      versions[key] = service.taskDefinition;
    }
  } else if (source.platform === "compose") {
    const engine = createDockerEngine(resolveDockerHost(source.dockerHost));
    for (const [key, workload] of entries) {
      const images = new Set<string>();
      for (const container of await engine.listServiceContainers(source.projectName, workload.name)) {
        const inspect = await engine.inspect(container.Id);
        images.add(`${inspect.Config.Image ?? ""}@${inspect.Image ?? ""}`);
      }
      // A service without containers has no version to guard (it was never created here).
      if (images.size > 0) versions[key] = [...images].sort().join(",");
    }
  } else {
    const client = createKubeClient(resolveConnection({ context: source.context }));
    Object.assign(versions, await kubernetesVersions(client, source.namespace, workloads));
  }
  return versions;
}

/** The pod template images of each Deployment/StatefulSet. */
export async function kubernetesVersions(
  client: Pick<KubeClient, "get">,
  namespace: string,
  workloads: Record<string, VersionedWorkload>,
): Promise<WorkloadVersions> {
  const versions: WorkloadVersions = {};
  for (const [key, workload] of Object.entries(workloads)) {
    const kind = workload.kind ?? "Deployment";
    const live = await client.get<Workload>(kubePaths.workload(namespace, kind, workload.name));
    if (!live) {
      throw new MaintenanceError(
        `version guard: ${kind} ${namespace}/${workload.name} not found; check services.${key}.name`,
      );
    }
    versions[key] = templateImages(live);
  }
  return versions;
}
