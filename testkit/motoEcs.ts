/**
 * Test helpers for ECS against the moto emulator the test setup starts
 * (`TEST_AWS_ENDPOINT`). Not used by the program.
 */
import { randomUUID } from "node:crypto";
import type { EcsEndpoint } from "../lib/ecs/api";

export function motoEndpoint(): EcsEndpoint {
  const endpoint = process.env.TEST_AWS_ENDPOINT;
  if (!endpoint)
    throw new Error(
      "TEST_AWS_ENDPOINT is not set: run the tests with vitest (testkit/servers/globalSetup.ts)",
    );
  // moto accepts any credentials; explicit ones keep the SDK away from the machine's own.
  return {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
}

/** A cluster with one service at `desiredCount`, as other tooling would have created it. */
export async function createMotoService(
  endpoint: EcsEndpoint,
  serviceName: string,
  desiredCount: number,
): Promise<{ cluster: string; service: string }> {
  const sdk = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
  const ecs = new sdk.ECSClient(endpoint);
  const cluster = `tines-${randomUUID().slice(0, 8)}`;
  await ecs.send(new sdk.CreateClusterCommand({ clusterName: cluster }));
  const td = await ecs.send(
    new sdk.RegisterTaskDefinitionCommand({
      family: serviceName,
      containerDefinitions: [{ name: serviceName, image: "tines/tines-app:latest", memory: 512 }],
    }),
  );
  await ecs.send(
    new sdk.CreateServiceCommand({
      cluster,
      serviceName,
      taskDefinition: td.taskDefinition?.taskDefinitionArn,
      desiredCount,
    }),
  );
  return { cluster, service: serviceName };
}
