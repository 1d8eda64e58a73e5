/**
 * The few ECS and Application Auto Scaling calls a scaling step needs, behind an interface so
 * the waiting logic can be driven by a scripted sequence of recorded responses as well as by
 * the real SDK. The SDK is `require`d inside `createEcsApi`: dynamic providers are serialized
 * with their closures, and AWS SDK v3 clients must not be captured by value.
 */
import type { DescribeServicesCommandOutput } from "@aws-sdk/client-ecs";
import type { ScalableTarget } from "@aws-sdk/client-application-auto-scaling";
import { awsClientConfig, type AwsSettings } from "../aws/settings";

export interface EcsEndpoint {
  /** `ecs.region`: overrides `aws:region` and the environment. */
  region?: string;
  /** An emulator or a VPC endpoint; used for both ECS and Application Auto Scaling. */
  endpoint?: string;
  /** Only for tests against an emulator; otherwise the SDK's default credential chain applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** The stack's `aws:*` settings, from the provider's configure request. */
  aws?: AwsSettings;
}

export interface ScalableTargetBounds {
  minCapacity: number;
  maxCapacity: number;
}

export interface EcsApi {
  describeService(cluster: string, service: string): Promise<DescribeServicesCommandOutput>;
  setDesiredCount(cluster: string, service: string, desiredCount: number): Promise<void>;
  /** The Application Auto Scaling target of the service's desired count, if one is registered. */
  describeScalableTarget(cluster: string, service: string): Promise<ScalableTargetBounds | undefined>;
  setScalableTargetBounds(cluster: string, service: string, bounds: ScalableTargetBounds): Promise<void>;
}

/** The resource id Application Auto Scaling uses for an ECS service. */
export function scalableResourceId(cluster: string, service: string): string {
  return `service/${cluster}/${service}`;
}

export function createEcsApi(endpoint: EcsEndpoint): EcsApi {
  const ecsSdk = require("@aws-sdk/client-ecs") as typeof import("@aws-sdk/client-ecs");
  const aasSdk =
    require("@aws-sdk/client-application-auto-scaling") as typeof import("@aws-sdk/client-application-auto-scaling");
  const override = { region: endpoint.region, endpoint: endpoint.endpoint };
  const clientConfig = (service: "ecs" | "applicationautoscaling") => ({
    ...awsClientConfig(endpoint.aws ?? {}, service, override),
    ...(endpoint.credentials ? { credentials: endpoint.credentials } : {}),
  });
  const ecs = new ecsSdk.ECSClient(clientConfig("ecs"));
  const aas = new aasSdk.ApplicationAutoScalingClient(clientConfig("applicationautoscaling"));
  const dimension = {
    ServiceNamespace: "ecs" as const,
    ScalableDimension: "ecs:service:DesiredCount" as const,
  };
  return {
    describeService: (cluster, service) =>
      ecs.send(new ecsSdk.DescribeServicesCommand({ cluster, services: [service] })),
    async setDesiredCount(cluster, service, desiredCount) {
      await ecs.send(new ecsSdk.UpdateServiceCommand({ cluster, service, desiredCount }));
    },
    async describeScalableTarget(cluster, service) {
      const out = await aas.send(
        new aasSdk.DescribeScalableTargetsCommand({
          ...dimension,
          ResourceIds: [scalableResourceId(cluster, service)],
        }),
      );
      const target: ScalableTarget | undefined = out.ScalableTargets?.[0];
      if (!target || target.MinCapacity === undefined || target.MaxCapacity === undefined) return undefined;
      return { minCapacity: target.MinCapacity, maxCapacity: target.MaxCapacity };
    },
    async setScalableTargetBounds(cluster, service, bounds) {
      await aas.send(
        new aasSdk.RegisterScalableTargetCommand({
          ...dimension,
          ResourceId: scalableResourceId(cluster, service),
          MinCapacity: bounds.minCapacity,
          MaxCapacity: bounds.maxCapacity,
        }),
      );
    },
  };
}
