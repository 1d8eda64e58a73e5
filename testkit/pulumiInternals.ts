/**
 * The gRPC and protobuf copies @pulumi/pulumi's generated clients and servers were built
 * against, for the harnesses that speak to Pulumi's own processes (the policy pack, the
 * dynamic-provider host) or build what the engine would send them.
 */
import path from "node:path";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/** `id` resolved from @pulumi/pulumi's own directory. */
export const fromPulumi = (id: string): Any => require(require.resolve(id, { paths: [PULUMI_DIR] }));
