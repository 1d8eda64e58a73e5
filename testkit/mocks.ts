/**
 * The one Pulumi mocks harness: an engine under `pulumi.runtime.setMocks` that records every
 * registration as the engine sees it, for the program (`runProgram`: index.ts with a stack
 * config) and for a component on its own (`mockEngine`, then register it).
 *  - Each registration takes a little time and records its start and end: the SDK registers a
 *    resource only once everything it depends on has finished registering, so start/end order
 *    shows the dependency order of the real run (docs/FACTS.md).
 *  - Its inputs as a provider gets them (secrets unwrapped) and as the engine gets them (wire
 *    form), so that a test can tell what reached the engine as a secret.
 *  - The engine's view of the stack (URNs, parents, dependencies, component outputs), which is
 *    what the policy pack is handed (testkit/programStacks.ts).
 *  - Optionally the engine's calls at preview: the real `check` and `diff` of chosen dynamic
 *    resources; a refusal stops the update there, as `pulumi preview` does.
 */
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { COMPONENT_TYPES, PROJECT_NAME, dynamicTypeToken } from "../lib/plan/names";
import { credentialPaths } from "../lib/config/credentials";

type DefineProviderModule = typeof import("../components/provider/defineProvider");

export interface Registration {
  type: string;
  name: string;
  custom: boolean;
  /** As a provider gets them: secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** As the engine gets them: secrets in their wire form. */
  wire: Record<string, unknown>;
  /** The id of a resource read with `.get`. */
  id?: string;
  /** The URN of its explicit provider, if any. */
  provider?: string;
  start: number;
  end: number;
}

/** One resource as the engine holds it at the end of the update: wire-form outputs, URN edges. */
export interface EngineResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  dependencies: string[];
  /** A custom resource's state; a component's registered outputs. */
  outputs: Record<string, unknown>;
}

export interface EngineOptions {
  /** Preview: the engine reports no id for a resource it would create. */
  preview?: boolean;
  stack?: string;
  /**
   * What a provider reports besides a resource's inputs (what its create returns), or the live
   * state of a resource read with `.get`.
   */
  state?(
    registration: Pick<Registration, "type" | "name" | "custom" | "inputs" | "id">,
  ): Record<string, unknown> | undefined;
  /**
   * Dynamic resource types whose real provider the engine calls, as `pulumi preview` does:
   * `check` against the previous inputs, then, with a previous state, `diff` against it. A
   * failure stops the update at that resource: neither it nor what depends on it registers.
   */
  consult?: {
    types: string[];
    previous?: { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  };
}

export interface MockEngine {
  registrations: Registration[];
  /** What consulted providers refused, one message each. */
  errors: string[];
  /** The first registration of `type` named `name`. */
  find(type: string | RegExp, name: string): Registration;
  /** Input names of the dynamic resource `name` that reached the engine as secrets. */
  secretInputs(name: string): string[];
  /** The stack as the engine holds it. */
  resources(): EngineResource[];
  /** The component inputs the SDK sent, by URN. */
  componentInputs: Map<string, Record<string, unknown>>;
  /** Resolves once no registration has been under way for a while (a refused one never ends). */
  settled(): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** How the SDK marks a secret value on the wire (runtime/rpc specialSigKey / specialSecretSig). */
export function isWireSecret(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** The engine hands providers plain values; the mock monitor passes secrets wrapped. */
function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (value && typeof value === "object") {
    if (isWireSecret(value)) return unwrap((value as { value: unknown }).value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

let clock = 0;
const tick = () => ++clock;

/** The real provider of a dynamic resource type (withStandInProviders keeps them). */
async function realProvider(type: string): Promise<pulumi.dynamic.ResourceProvider> {
  const { PROVIDERS } = (await import("../components/provider/defineProvider")) as DefineProviderModule;
  const definition = PROVIDERS.find((d) => dynamicTypeToken(d.type) === type);
  if (!definition) throw new Error(`no provider defined for ${type}`);
  return definition.provider;
}

/** Consults the real provider as the engine does at preview; throws the engine's message on a refusal. */
async function consult(type: string, name: string, inputs: Record<string, unknown>, options: EngineOptions) {
  const provider = await realProvider(type);
  const previous = options.consult?.previous;
  const checked = await provider.check!(previous?.inputs ?? {}, inputs);
  if (checked.failures?.length) throw new Error(checked.failures.map((f) => f.reason).join("; "));
  if (previous) await provider.diff!(name, previous.outputs, checked.inputs);
}

export function mockEngine(options: EngineOptions = {}): MockEngine {
  const registrations: Registration[] = [];
  const errors: string[] = [];
  const requests = new Map<string, Omit<EngineResource, "urn" | "outputs">>();
  const componentInputs = new Map<string, Record<string, unknown>>();
  const componentOutputs = new Map<string, Record<string, unknown>>();
  let pending = 0;
  let lastActivity = Date.now();
  void pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        pending++;
        lastActivity = Date.now();
        try {
          return await register(args);
        } finally {
          pending--;
          lastActivity = Date.now();
        }
      },
      call: (args) => args.inputs,
    },
    PROJECT_NAME,
    options.stack ?? "test",
    options.preview ?? false,
  );

  async function register(
    args: pulumi.runtime.MockResourceArgs,
  ): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
    const start = tick();
    await new Promise((r) => setTimeout(r, 2));
    const inputs = unwrap(args.inputs) as Record<string, unknown>;
    if (options.consult?.types.includes(args.type)) {
      try {
        await consult(args.type, args.name, inputs, options);
      } catch (error) {
        errors.push((error as Error).message);
        // The engine stops the update here: nothing that depends on it is registered.
        pending--;
        return new Promise<never>(() => undefined);
      }
    }
    const read = args.id !== undefined && args.id !== "";
    const base = {
      type: args.type,
      name: args.name,
      custom: args.custom ?? true,
      inputs,
      id: read ? args.id : undefined,
    };
    const extra = options.state?.(base);
    registrations.push({
      ...base,
      wire: args.inputs as Record<string, unknown>,
      provider: args.provider,
      start,
      end: tick(),
    });
    return {
      id: read ? args.id : options.preview ? undefined : `${args.name}-id`,
      state: read ? (extra ?? {}) : { ...args.inputs, ...extra },
    };
  }

  // The requests as the monitor gets them: URN edges and component outputs, for the policy pack.
  const monitor = pulumi.runtime.getMonitor() as Any;
  const record = (req: Any, custom: boolean) => {
    const urn = monitor.newUrn(req.getParent(), req.getType(), req.getName()) as string;
    requests.set(urn, {
      type: req.getType(),
      name: req.getName(),
      custom,
      ...(req.getParent() ? { parent: req.getParent() } : {}),
      dependencies: req.getDependenciesList?.() ?? [],
    });
    if (!custom) componentInputs.set(urn, req.getObject()?.toJavaScript() ?? {});
  };
  const intercept = (method: string, before: (req: Any) => void) => {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req: Any, callback: Any) => {
      before(req);
      return original(req, callback);
    };
  };
  intercept("registerResource", (req) => record(req, req.getCustom()));
  intercept("readResource", (req) => record(req, true));
  intercept("registerResourceOutputs", (req) =>
    componentOutputs.set(req.getUrn(), req.getOutputs()?.toJavaScript() ?? {}),
  );

  return {
    registrations,
    errors,
    componentInputs,
    async settled() {
      const deadline = Date.now() + 30_000;
      // Until something registered (the SDK may take longer than the quiet period to send the
      // first request, under load), then until it has been quiet for a moment.
      const quiet = () => Date.now() - lastActivity >= 100 && (registrations.length > 0 || errors.length > 0);
      while ((pending > 0 || !quiet()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    find(type, name) {
      const match = registrations.find(
        (r) => r.name === name && (typeof type === "string" ? r.type === type : type.test(r.type)),
      );
      if (!match) {
        throw new Error(
          `no ${String(type)} named ${name}; registered: ${registrations.map((r) => `${r.type}::${r.name}`).join(", ")}`,
        );
      }
      return match;
    },
    secretInputs(name) {
      const match = registrations.find((r) => r.name === name && r.type.startsWith("pulumi-nodejs:dynamic"));
      return Object.entries(match?.wire ?? {})
        .filter(([, value]) => isWireSecret(value))
        .map(([key]) => key);
    },
    resources() {
      const states = monitor.getRegisteredResources() as Map<string, { state: Any }>;
      return [...requests].map(([urn, request]) => ({
        urn,
        ...request,
        outputs: request.custom
          ? ((states.get(urn)?.state as Record<string, unknown>) ?? {})
          : (componentOutputs.get(urn) ?? {}),
      }));
    },
  };
}

/** An output's value once it is known (`apply` never runs for one unknown at preview). */
export const known = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

/** A service step's component, standing in as the parent a platform adapter registers under. */
export class ServiceStepParent extends pulumi.ComponentResource {
  constructor(name: string) {
    super(COMPONENT_TYPES.serviceStep, name, {});
    this.registerOutputs({});
  }
}

/** An output's value; in preview, values not known yet come back as the SDK's unknown marker. */
export async function settled<T>(output: pulumi.Output<T> | T): Promise<T> {
  if (!pulumi.Output.isInstance(output)) return output as T;
  // `apply` never runs for an unknown value (preview), so read the promise with unknowns kept.
  const internal = output as unknown as { promise(withUnknowns?: boolean): Promise<T> };
  return internal.promise(true);
}

export function toPulumiConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      `${PROJECT_NAME}:${key}`,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

/**
 * The keys an operator sets with --secret: every top-level key holding a credential, as the
 * engine lists them in PULUMI_CONFIG_SECRET_KEYS, but those in `plaintext`.
 */
export function secretKeysOf(config: Record<string, unknown>, plaintext: string[] = []): string[] {
  return Object.entries(config)
    .filter(([key, value]) => !plaintext.includes(key) && credentialPaths(value).length > 0)
    .map(([key]) => `${PROJECT_NAME}:${key}`);
}

export interface ProgramRun extends MockEngine {
  /** The stack outputs index.ts exports. */
  outputs: Record<string, unknown>;
}

const SKIP_COMPONENT_INPUTS = "PULUMI_NODEJS_SKIP_COMPONENT_INPUTS";

/** index.ts under mocks with `config` as the stack config; resolves once every registration has. */
export async function runProgram(
  config: Record<string, unknown>,
  options: EngineOptions & {
    /** Run with PULUMI_NODEJS_SKIP_COMPONENT_INPUTS set, as some operators' environments do. */
    skipComponentInputs?: boolean;
    /** Top-level keys left plain although they hold a password (as if set without --secret). */
    plaintextKeys?: string[];
  } = {},
): Promise<ProgramRun> {
  const engine = mockEngine(options);
  pulumi.runtime.setAllConfig(toPulumiConfig(config), secretKeysOf(config, options.plaintextKeys));
  const previousSkip = process.env[SKIP_COMPONENT_INPUTS];
  if (options.skipComponentInputs) process.env[SKIP_COMPONENT_INPUTS] = "true";
  else delete process.env[SKIP_COMPONENT_INPUTS];
  try {
    vi.resetModules();
    const program = (await import("../index")) as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    let done = false;
    const resolved = (async () => {
      for (const [key, value] of Object.entries(program)) outputs[key] = await settled(value);
      await (pulumi.runtime as Any).waitForRPCs();
    })().finally(() => (done = true));
    // A refusal stops the update: what depends on it, the outputs included, never resolves.
    const stopped = (async () => {
      while (!done) {
        await engine.settled();
        if (engine.errors.length > 0) return;
      }
    })();
    await Promise.race([resolved, stopped]);
    return { ...engine, outputs };
  } finally {
    if (previousSkip === undefined) delete process.env[SKIP_COMPONENT_INPUTS];
    else process.env[SKIP_COMPONENT_INPUTS] = previousSkip;
  }
}

/** What each resource serializes instead of its provider: mocks never call one. */
const STAND_IN: pulumi.dynamic.ResourceProvider = {
  create: async () => ({ id: "unused-under-mocks" }),
};

/**
 * The provider definition for `vi.mock` in a test that registers resources under mocks: under
 * vitest's module transform a provider may not serialize (docs/FACTS.md), and mocks never call
 * one, so each resource serializes a stand-in while PROVIDERS keeps the real ones.
 * test/providerSerialization.test.ts proves that every real provider serializes and loads as
 * the Pulumi CLI runs it.
 */
export function withStandInProviders(actual: DefineProviderModule): DefineProviderModule {
  return {
    ...actual,
    defineProvider: ((...args: Parameters<DefineProviderModule["defineProvider"]>) => ({
      ...actual.defineProvider(...args),
      serialized: STAND_IN,
    })) as unknown as DefineProviderModule["defineProvider"],
  };
}
