/**
 * ECS services on the moto emulator as other tooling would have created them, and their
 * desired counts read back, for the end-to-end suite.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";

export interface MotoEcs {
  endpoint: string;
  region: string;
  cluster: string;
}

function client(ecs: MotoEcs): ECSClient {
  // moto accepts any credentials; explicit ones keep the SDK away from the machine's own.
  return new ECSClient({
    endpoint: ecs.endpoint,
    region: ecs.region,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
}

export async function createEcsServices(ecs: MotoEcs, counts: Record<string, number>): Promise<void> {
  const api = client(ecs);
  await api.send(new CreateClusterCommand({ clusterName: ecs.cluster }));
  for (const [service, desiredCount] of Object.entries(counts)) {
    const td = await api.send(
      new RegisterTaskDefinitionCommand({
        family: service,
        containerDefinitions: [{ name: service, image: `tines/${service}:latest`, memory: 512 }],
      }),
    );
    await api.send(
      new CreateServiceCommand({
        cluster: ecs.cluster,
        serviceName: service,
        taskDefinition: td.taskDefinition?.taskDefinitionArn,
        desiredCount,
      }),
    );
    // moto leaves a new service's tasks pending for ever; an update makes them all run, as
    // a long-running production service would be.
    await api.send(new UpdateServiceCommand({ cluster: ecs.cluster, service, desiredCount }));
  }
}

export async function ecsDesiredCounts(ecs: MotoEcs, services: string[]): Promise<Record<string, number>> {
  const response = await client(ecs).send(new DescribeServicesCommand({ cluster: ecs.cluster, services }));
  const counts: Record<string, number> = {};
  for (const name of services) {
    const service = response.services?.find((s) => s.serviceName === name);
    if (!service) throw new Error(`e2e: ECS service ${name} not found in ${ecs.cluster}`);
    counts[name] = service.desiredCount ?? -1;
  }
  return counts;
}
