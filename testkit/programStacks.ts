/**
 * The stack the policy pack really sees, built by running the real program (index.ts)
 * under Pulumi mocks: every registration with its parent and dependency URNs as the SDK
 * sends them, and as properties what the engine hands `AnalyzeStack` (pkg/resource/deploy
 * step_generator.go, AnalyzeResources: `Properties: v.Outputs`):
 *  - a custom resource: the state its provider returns (at preview the dynamic provider
 *    does not support preview, so the engine uses its inputs);
 *  - a component: only what it registered with `registerOutputs`; its inputs are never
 *    passed to a stack policy, and with PULUMI_NODEJS_SKIP_COMPONENT_INPUTS they are not
 *    even sent.
 * Values go through the policy SDK's own deserializer and unknown-checking proxy, so a
 * rule that reads a value unknown at preview fails here as it would under the CLI.
 */
import { SCALE_DOWN_ORDER, type Phase, type Platform } from "../lib/plan/services";
import type { StackResource } from "../policy/rules";
import { runProgram, type EngineResource } from "./mocks";
import { fromPulumi, type Any } from "./pulumiInternals";

export type { EngineResource };

const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
// Internal modules of the policy SDK (no typings): the exact code its server runs on each resource.
const { deserializeProperties } = require("@pulumi/policy/deserialize") as Any;
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as Any;

export interface ProgramStackOptions {
  preview: boolean;
  /** Run with PULUMI_NODEJS_SKIP_COMPONENT_INPUTS set, as some operators' environments do. */
  skipComponentInputs?: boolean;
  /** Top-level keys left plain although they hold a password (as if set without --secret). */
  plaintextKeys?: string[];
  /** What a provider's create would add to its inputs (e.g. reachedCount), by registration. */
  providerOutputs?: (registration: {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
  }) => Record<string, unknown>;
}

export interface ProgramStack {
  resources: EngineResource[];
  /** The component inputs the SDK sent, by URN (empty objects with skipComponentInputs). */
  componentInputs: Map<string, Record<string, unknown>>;
  /** As `@pulumi/policy` hands them to `validateStack`. */
  policyResources(): StackResource[];
}

export async function programStack(
  config: Record<string, unknown>,
  options: ProgramStackOptions,
): Promise<ProgramStack> {
  const run = await runProgram(config, {
    preview: options.preview,
    stack: "policy",
    skipComponentInputs: options.skipComponentInputs,
    plaintextKeys: options.plaintextKeys,
    state: (r) => (r.custom ? options.providerOutputs?.(r) : undefined),
  });
  const resources = run.resources();
  return {
    resources,
    componentInputs: run.componentInputs,
    policyResources: () => toPolicyResources(resources),
  };
}

/** What `@pulumi/policy`'s server builds for `validateStack` from the engine's resources. */
export function toPolicyResources(resources: readonly EngineResource[]): StackResource[] {
  const byUrn = new Map<string, StackResource>();
  for (const r of resources) {
    const props = unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(r.outputs), false));
    byUrn.set(r.urn, { type: r.type, name: r.name, urn: r.urn, props, dependencies: [] });
  }
  for (const r of resources) {
    const resource = byUrn.get(r.urn)!;
    resource.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d) => d !== undefined);
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (parent) resource.parent = parent;
  }
  return [...byUrn.values()];
}

/** One Struct per resource, for the Analyzer gRPC request. */
export function wireStruct(outputs: Record<string, unknown>): Any {
  return Struct.fromJavaScript(outputs);
}

/** The optional gates, each switched on by its own config section. */
export const GATES = ["sidekiq", "backup", "migration", "endpoints"] as const;
export type Gate = (typeof GATES)[number];

const PLATFORM_CONFIG: Record<Platform, Record<string, unknown>> = {
  ecs: { ecs: { cluster: "tines", region: "eu-west-1" } },
  kubernetes: { kubernetes: { namespace: "tines" } },
  compose: { compose: { projectName: "tines", projectDirectory: "/srv/tines" } },
};

const ENDPOINT_TARGETS: Record<Platform, Record<string, unknown>> = {
  ecs: { kind: "secrets-manager", secretId: "tines/env" },
  kubernetes: { kind: "kubernetes-secret", name: "tines-env" },
  compose: { kind: "env-file" },
};

/** A stack config for one combination; without the sidekiq gate, tines-sidekiq is not listed. */
export function combinationConfig(phase: Phase, platform: Platform, gates: readonly Gate[]) {
  const services = Object.fromEntries(
    SCALE_DOWN_ORDER.filter((key) => key !== "tines-sidekiq" || gates.includes("sidekiq")).map((key, i) => [
      key,
      i + 1,
    ]),
  );
  const database =
    gates.includes("backup") || gates.includes("migration")
      ? {
          url: "postgresql://tines:db-secret@old-db.internal:5432/tines",
          backup: gates.includes("backup") ? { directory: "/var/backups/tines" } : { enabled: false },
          ...(gates.includes("migration")
            ? { migration: { targetUrl: "postgresql://tines:db-secret@new-db.internal:5432/tines" } }
            : {}),
        }
      : undefined;
  return {
    phase,
    platform,
    ...PLATFORM_CONFIG[platform],
    services,
    ...(gates.includes("migration") ? { keepRunning: ["postgres"] } : {}),
    ...(gates.includes("sidekiq") ? { sidekiq: { redisUrl: "redis://:queue-secret@10.0.0.5:6379/1" } } : {}),
    ...(database ? { database } : {}),
    ...(gates.includes("endpoints")
      ? {
          endpoints: {
            databaseHost: "new-db.internal",
            redisUrl: "redis://:queue-secret@new-redis.internal:6379/1",
            target: ENDPOINT_TARGETS[platform],
          },
        }
      : {}),
  };
}
