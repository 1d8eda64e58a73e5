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
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { PROJECT_NAME } from "../../lib/names";
import { SCALE_DOWN_ORDER, type Phase, type Platform } from "../../lib/services";
import type { StackResource } from "../../policy/rules";
import { secretKeysOf, toPulumiConfig } from "../pulumiProgram";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const PULUMI_DIR = require.resolve("@pulumi/pulumi/package.json").replace(/package\.json$/, "");
const fromPulumi = (id: string): Any => require(require.resolve(id, { paths: [PULUMI_DIR] }));
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
// Internal modules of the policy SDK (no typings): the exact code its server runs on each resource.
const { deserializeProperties } = require("@pulumi/policy/deserialize") as Any;
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as Any;

/** One resource as the engine holds it at the end of the update: wire-form outputs, URN edges. */
export interface EngineResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  dependencies: string[];
  /** Wire form (unknowns and secrets as the SDK's signatures), as in the engine's state. */
  outputs: Record<string, unknown>;
}

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

const SKIP_ENV = "PULUMI_NODEJS_SKIP_COMPONENT_INPUTS";

export async function programStack(
  config: Record<string, unknown>,
  options: ProgramStackOptions,
): Promise<ProgramStack> {
  const requests = new Map<
    string,
    { type: string; name: string; custom: boolean; parent: string; dependencies: string[] }
  >();
  const componentInputs = new Map<string, Record<string, unknown>>();
  const componentOutputs = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        const extra = args.custom ? (options.providerOutputs?.({ ...args, inputs }) ?? {}) : {};
        return {
          id: options.preview ? undefined : `${args.name}-id`,
          state: { ...inputs, ...extra },
        };
      },
      call: (args) => args.inputs,
    },
    PROJECT_NAME,
    "policy",
    options.preview,
  );
  const monitor = pulumi.runtime.getMonitor() as Any;
  const urnOf = (req: Any) => monitor.newUrn(req.getParent(), req.getType(), req.getName()) as string;
  const record = (req: Any, custom: boolean) => {
    const urn = urnOf(req);
    requests.set(urn, {
      type: req.getType(),
      name: req.getName(),
      custom,
      parent: req.getParent(),
      dependencies: req.getDependenciesList?.() ?? [],
    });
    if (!custom) componentInputs.set(urn, req.getObject()?.toJavaScript() ?? {});
  };
  const registerResource = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: Any, callback: Any) => {
    record(req, req.getCustom());
    return registerResource(req, callback);
  };
  const readResource = monitor.readResource.bind(monitor);
  monitor.readResource = (req: Any, callback: Any) => {
    record(req, true);
    return readResource(req, callback);
  };
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req: Any, callback: Any) => {
    componentOutputs.set(req.getUrn(), req.getOutputs()?.toJavaScript() ?? {});
    return registerResourceOutputs(req, callback);
  };

  pulumi.runtime.setAllConfig(toPulumiConfig(config), secretKeysOf(config, options.plaintextKeys));
  const previousSkip = process.env[SKIP_ENV];
  if (options.skipComponentInputs) process.env[SKIP_ENV] = "true";
  else delete process.env[SKIP_ENV];
  try {
    vi.resetModules();
    const program = (await import("../../index")) as Record<string, unknown>;
    for (const value of Object.values(program)) {
      if (pulumi.Output.isInstance(value)) {
        await (value as unknown as { promise(withUnknowns?: boolean): Promise<unknown> }).promise(true);
      }
    }
    await (pulumi.runtime as Any).waitForRPCs();
  } finally {
    if (previousSkip === undefined) delete process.env[SKIP_ENV];
    else process.env[SKIP_ENV] = previousSkip;
  }

  const states = monitor.getRegisteredResources() as Map<string, { state: Any }>;
  const resources: EngineResource[] = [...requests].map(([urn, request]) => {
    const state = states.get(urn)?.state;
    return {
      urn,
      type: request.type,
      name: request.name,
      custom: request.custom,
      ...(request.parent ? { parent: request.parent } : {}),
      dependencies: request.dependencies,
      outputs: request.custom
        ? ((state as Record<string, unknown>) ?? {})
        : (componentOutputs.get(urn) ?? {}),
    };
  });
  return { resources, componentInputs, policyResources: () => toPolicyResources(resources) };
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
