/**
 * ECS on the moto emulator the test setup starts (`TEST_AWS_ENDPOINT`): clusters and services
 * as other tooling would have created them, and their desired counts read back. For the unit
 * tests, the end-to-end suite and the benchmarks; not used by the program.
 */
import { randomUUID } from "node:crypto";
import type { EcsEndpoint } from "../lib/ecs/api";

/** One cluster on moto. moto accepts any credentials; explicit ones keep the SDK away from the machine's own. */
export interface MotoEcs {
  endpoint: string;
  region: string;
  cluster: string;
  credentials?: EcsEndpoint["credentials"];
}

const TESTING = { accessKeyId: "testing", secretAccessKey: "testing" };

export function motoEndpoint(): EcsEndpoint {
  const endpoint = process.env.TEST_AWS_ENDPOINT;
  if (!endpoint)
    throw new Error(
      "TEST_AWS_ENDPOINT is not set: run the tests with vitest (testkit/servers/globalSetup.ts)",
    );
  return { endpoint, region: "us-east-1", credentials: TESTING };
}

function client(ecs: Omit<MotoEcs, "cluster">) {
  const sdk = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
  return { sdk, api: new sdk.ECSClient({ ...ecs, credentials: ecs.credentials ?? TESTING }) };
}

/**
 * The cluster with one service per entry at its desired count. `running`: moto leaves a new
 * service's tasks pending for ever; an update makes them all run, as a long-running
 * production service would be.
 */
export async function createEcsServices(
  ecs: MotoEcs,
  counts: Record<string, number>,
  options: { running?: boolean } = { running: true },
): Promise<void> {
  const { sdk, api } = client(ecs);
  await api.send(new sdk.CreateClusterCommand({ clusterName: ecs.cluster }));
  for (const [service, desiredCount] of Object.entries(counts)) {
    const td = await api.send(
      new sdk.RegisterTaskDefinitionCommand({
        family: service,
        containerDefinitions: [{ name: service, image: `tines/${service}:latest`, memory: 512 }],
      }),
    );
    await api.send(
      new sdk.CreateServiceCommand({
        cluster: ecs.cluster,
        serviceName: service,
        taskDefinition: td.taskDefinition?.taskDefinitionArn,
        desiredCount,
      }),
    );
    if (options.running) {
      await api.send(new sdk.UpdateServiceCommand({ cluster: ecs.cluster, service, desiredCount }));
    }
  }
}

/** A new cluster with one service at `desiredCount`, its tasks left pending. */
export async function createMotoService(
  endpoint: EcsEndpoint,
  serviceName: string,
  desiredCount: number,
): Promise<{ cluster: string; service: string }> {
  const ecs = {
    endpoint: endpoint.endpoint!,
    region: endpoint.region!,
    credentials: endpoint.credentials,
    cluster: `tines-${randomUUID().slice(0, 8)}`,
  };
  await createEcsServices(ecs, { [serviceName]: desiredCount }, { running: false });
  return { cluster: ecs.cluster, service: serviceName };
}

export async function ecsDesiredCounts(ecs: MotoEcs, services: string[]): Promise<Record<string, number>> {
  const { sdk, api } = client(ecs);
  const response = await api.send(new sdk.DescribeServicesCommand({ cluster: ecs.cluster, services }));
  const counts: Record<string, number> = {};
  for (const name of services) {
    const service = response.services?.find((s) => s.serviceName === name);
    if (!service) throw new Error(`ECS service ${name} not found in ${ecs.cluster}`);
    counts[name] = service.desiredCount ?? -1;
  }
  return counts;
}
