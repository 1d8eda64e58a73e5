/**
 * The one definition of a dynamic provider and of the resources registered with it. Every
 * provider of the program is `defineProvider(spec, { aws })`, so the order in which its calls are
 * wrapped stands here once, outermost first:
 *  1. AWS settings (`{ aws: true }`): `configure` keeps the stack's `aws:*` config, which the
 *     engine hands a dynamic provider, in a holder that is serialized empty, so no profile or
 *     region is frozen into the state and a changed setting applies at the next update;
 *  2. engine liveness (./engineLiveness): each call is counted, so an orphaned provider host
 *     aborts its waits and exits once its engine is gone;
 *  3. operator-facing errors: the dynamic-provider host (@pulumi/pulumi cmd/dynamic-provider)
 *     prints an error thrown by `check`, `diff`, `read` or `delete` as `${error}: ${error.stack}`,
 *     a stack trace for an Error and `[object Object]: undefined` for our error classes once
 *     serialized (they are no longer `Error`s there). So `check` never throws (a refusal is a
 *     check failure, which the engine prints as "<type> resource '<name>' has a problem: ..."),
 *     and `diff`, `read` and `delete` throw an error that prints as its one-line message
 *     followed by what was left as it was, never a stack trace. The host reports an error of
 *     `create` or `update` by its message alone, so those pass through as thrown;
 *  4. timing: `create` and `update` add `startedAt` / `finishedAt` (ISO times) to the outputs,
 *     so that every step's bar in the window report comes from the state of the update that
 *     ran it; an update that returns its old outputs did no work and keeps its old times.
 * The spec's methods get what they need at run time from their `context` (progress reporter,
 * abort signal, AWS settings) and capture only plain functions and plain data: Pulumi's function
 * serialization cannot carry a Set, a Map, a Date or a client captured from a module
 * (test/providerSerialization.test.ts checks every provider for such a capture).
 *
 * What the state keeps of a provider (`serialized`): compiled (bin/, what `pulumi up` loads
 * after `npm ci`), a loader that requires ./registry.js in the provider host and runs the
 * provider found there by its type token, so that a provider is about 2 KB. Serialized by
 * value, as Pulumi does otherwise, a provider carries the code of everything it calls: 26 to
 * 204 KB each, which every preview and every update serialized again (0.2 to 0.8 s a provider)
 * and the host evaluated again (bench/README.md, the fixed cost per update). From the sources,
 * the host could not load TypeScript, so the provider is serialized by value.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { awsSettingsFromConfig, type AwsSettings } from "../../lib/aws/settings";
import type { InputFailure, Inputs } from "../../lib/config/validation";
import { oneLine } from "../../lib/errors";
import { dynamicTypeToken, type DynamicType } from "../../lib/plan/names";
import type { ProgressReporter } from "../../lib/progress";
import { engineLiveness } from "./engineLiveness";

/** What a provider method gets at run time, in the provider process. */
export interface ProviderContext {
  /** Progress and warnings, as engine log lines. */
  reporter: ProgressReporter;
  /** Aborted once the engine that started this provider host is gone: every wait takes it. */
  signal: AbortSignal;
  /** The stack's `aws:*` settings (empty unless the provider is defined with `{ aws: true }`). */
  aws: AwsSettings;
}

export interface ProviderSpec<I, O, L extends keyof O> {
  /** The type its resources register under (lib/plan/names.ts): part of every URN, never change it. */
  type: DynamicType;
  /** The outputs its resources expose besides their inputs (and `startedAt` / `finishedAt`). */
  outputs: readonly L[];
  /** Outputs the state keeps as secrets (digests of secret inputs). */
  secretOutputs?: readonly (keyof O)[];
  /**
   * Problems with the inputs, one per field, as the engine hands them over (anything: that is
   * what it checks). Runs at preview: reads at most, changes nothing.
   */
  check?(news: Inputs, olds: Inputs, context: ProviderContext): InputFailure[] | Promise<InputFailure[]>;
  /**
   * Whether an update has work to do, from the state of the last update (which an older
   * version of the program may have written) and the checked inputs. Runs at preview: reads
   * at most, changes nothing.
   */
  diff(
    olds: Inputs,
    news: Inputs,
    context: ProviderContext,
  ): pulumi.dynamic.DiffResult | Promise<pulumi.dynamic.DiffResult>;
  /** The work; throwing fails the update, so the steps that depend on the resource never run. */
  create(inputs: I, context: ProviderContext): Promise<O>;
  /** The resource's id, from what `create` returned. */
  id(outs: O): string;
  /**
   * The work of an update. Without it, an update does `create`'s work again when `diff` says
   * so (Pulumi also calls update for changes `diff` ignores) and keeps its outputs otherwise.
   */
  update?(olds: O, news: I, context: ProviderContext): Promise<O>;
  /** `pulumi refresh`: what is live now; `inputs` too, so that a preview shows the way back. */
  read?(id: string, props: O, context: ProviderContext): Promise<{ props: O; inputs?: I }>;
  /**
   * Removing the resource: what it undoes, or, as a sentence, why removing it changes nothing
   * (what is left in place, at each gate).
   */
  delete: string | ((id: string, props: O, context: ProviderContext) => Promise<void>);
}

/** What every resource needs of its provider's definition. */
export interface ResourceDefinition {
  type: DynamicType;
  outputs: readonly PropertyKey[];
  secretOutputs: readonly PropertyKey[];
  /** The provider's calls, as the provider host runs them. */
  provider: pulumi.dynamic.ResourceProvider;
  /** What `pulumi.dynamic.Resource` serializes into the state: `provider`, or compiled, a loader of it. */
  serialized: pulumi.dynamic.ResourceProvider;
}

export interface ProviderDefinition<I, O, L extends keyof O> extends ResourceDefinition {
  outputs: readonly L[];
  secretOutputs: readonly (keyof O)[];
  /** The methods as written, before the wrapping above. */
  spec: ProviderSpec<I, O, L>;
}

/** Progress of a provider's waits as engine log lines; it only references `pulumi.log`. */
const pulumiReporter: ProgressReporter = {
  info: (message) => void pulumi.log.info(message),
  warn: (message) => void pulumi.log.warn(message),
};

/** An error the provider host prints as `message: outcome`, whatever was thrown. */
function readable(error: unknown, outcome: string): Error {
  const message = oneLine(error);
  return Object.assign(new Error(message), { stack: outcome, toString: () => message });
}

type Outs = Record<string, unknown>;

/** The compiled module that defines every provider, for the provider host (absent from the sources' view). */
const COMPILED_REGISTRY = path.join(__dirname, "registry.js");
/** Whether this is the compiled program, whose providers the host can load by reference. */
const COMPILED = __filename.endsWith(".js") && existsSync(COMPILED_REGISTRY);

/**
 * A provider that loads the compiled `token` provider in the provider host, with `methods`.
 * It captures two strings: the token, and the registry's path relative to the working
 * directory, which the CLI gives the program and the provider host alike (Pulumi names the
 * modules it captures the same way), so a state written in a checkout that has moved since
 * still finds it. The host runs the provider of the build it finds, as it would a provider
 * plugin's newer version: every provider reads the state older versions wrote.
 */
function byReference(token: string, methods: string[]): pulumi.dynamic.ResourceProvider {
  const registry = `./${path.relative(process.cwd(), COMPILED_REGISTRY).split(path.sep).join("/")}`;
  // `require` in the host is the host's own: Pulumi serializes a function's `require` as it is.
  // A build that is not there (removed, or the checkout moved below the state's working
  // directory) fails each call before it does anything, with what to do, as `readable` prints.
  const load = (): Record<string, (...args: unknown[]) => unknown> => {
    try {
      return require(require("node:path").resolve(registry)).providerFor(token);
    } catch (error) {
      const cause = String(error instanceof Error ? error.message : error).split("\n")[0];
      const message =
        `cannot load the provider of ${token} from ${registry} in ${process.cwd()} (${cause}): ` +
        "run `npm ci` or `npm run build:program` in the project's directory, then pulumi again";
      throw Object.assign(new Error(message), { stack: "nothing was changed", toString: () => message });
    }
  };
  const provider: Record<string, (...args: unknown[]) => unknown> = {};
  for (const method of methods) provider[method] = (...args) => load()[method](...args);
  return provider as unknown as pulumi.dynamic.ResourceProvider;
}

/**
 * Every provider defined in this process, as defined (whatever a test substitutes for what
 * gets serialized): the serialization tests run each one as the Pulumi CLI would.
 */
export const PROVIDERS: ProviderDefinition<never, never, never>[] = [];

export function defineProvider<I, O, const L extends keyof O>(
  spec: ProviderSpec<I, O, L>,
  options: { aws?: boolean } = {},
): ProviderDefinition<I, O, L> {
  const settings: { aws: AwsSettings } = { aws: {} };
  const context = (): ProviderContext => ({
    reporter: pulumiReporter,
    signal: engineLiveness().signal,
    aws: settings.aws,
  });
  const timed = async (work: () => Promise<O>): Promise<Outs> => {
    const startedAt = new Date().toISOString();
    const outs = (await work()) as Outs;
    return { ...outs, startedAt, finishedAt: new Date().toISOString() };
  };
  const calls: pulumi.dynamic.ResourceProvider = {
    async check(olds, news) {
      try {
        return { inputs: news, failures: spec.check ? await spec.check(news, olds, context()) : [] };
      } catch (error) {
        return { inputs: news, failures: [{ property: "", reason: oneLine(error) }] };
      }
    },
    async diff(_id, olds, news) {
      try {
        return await spec.diff(olds, news, context());
      } catch (error) {
        throw readable(error, "nothing was changed");
      }
    },
    async create(inputs) {
      let id = "";
      const outs = await timed(async () => {
        const created = await spec.create(inputs as I, context());
        id = spec.id(created);
        return created;
      });
      return { id, outs };
    },
    async update(_id, olds, news) {
      if (spec.update) {
        const update = spec.update;
        return { outs: await timed(() => update(olds as O, news as I, context())) };
      }
      if (!(await spec.diff(olds, news, context())).changes) return { outs: olds };
      return { outs: await timed(() => spec.create(news as I, context())) };
    },
    async delete(id, props) {
      if (typeof spec.delete === "string") return;
      try {
        await spec.delete(id, props as O, context());
      } catch (error) {
        throw readable(error, "it stays in the stack");
      }
    },
  };
  if (spec.read) {
    const read = spec.read;
    calls.read = async (id, props) => {
      try {
        const live = await read(id, props as O, context());
        return { id, props: live.props as Outs, ...(live.inputs ? { inputs: live.inputs as Outs } : {}) };
      } catch (error) {
        throw readable(error, "the stack's record of it was left as it was");
      }
    };
  }
  // Each call counted by the engine watch: check and diff too, a preview's host must also go.
  const tracked: Record<string, unknown> = {};
  for (const [method, call] of Object.entries(calls) as Array<
    [string, (...args: unknown[]) => Promise<unknown>]
  >) {
    tracked[method] = (...args: unknown[]) => engineLiveness().track(() => call(...args));
  }
  const provider = tracked as unknown as pulumi.dynamic.ResourceProvider;
  if (options.aws) {
    provider.configure = async (request: pulumi.dynamic.ConfigureRequest) => {
      settings.aws = awsSettingsFromConfig((key) => request.config.get(key));
    };
  }
  const definition = {
    type: spec.type,
    outputs: spec.outputs,
    secretOutputs: spec.secretOutputs ?? [],
    provider,
    serialized: COMPILED ? byReference(dynamicTypeToken(spec.type), Object.keys(provider)) : provider,
    spec,
  };
  PROVIDERS.push(definition as unknown as ProviderDefinition<never, never, never>);
  return definition;
}

/** The inputs of a resource: each may be an Output of the program. */
export type ResourceInputs<I> = { [K in keyof I]: pulumi.Input<I[K]> };

/** The outputs a resource exposes, as Outputs of the program. */
export type ResourceOutputs<O, L extends keyof O> = { readonly [K in L]-?: pulumi.Output<O[K]> };

/**
 * The base of every dynamic resource the program registers: its type token and its provider
 * come from its definition, and every output the provider returns starts undefined so that
 * the SDK knows it (an input of the same name wins).
 */
export abstract class MaintenanceResource extends pulumi.dynamic.Resource {
  constructor(
    definition: ResourceDefinition,
    name: string,
    inputs: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions = {},
  ) {
    const secret = definition.secretOutputs as readonly string[];
    super(
      definition.serialized,
      name,
      {
        ...Object.fromEntries((definition.outputs as readonly string[]).map((key) => [key, undefined])),
        ...inputs,
      },
      secret.length > 0
        ? { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), ...secret] }
        : opts,
      definition.type.module,
      definition.type.type,
    );
  }
}

/**
 * The resource class of a provider definition: `class FooResource extends dynamicResource(foo) {}`,
 * with the definition's inputs and outputs as its types, declared once.
 */
export function dynamicResource<I, O, L extends keyof O>(definition: ProviderDefinition<I, O, L>) {
  class Resource extends MaintenanceResource {
    constructor(name: string, inputs: ResourceInputs<I>, opts?: pulumi.CustomResourceOptions) {
      super(definition, name, inputs as pulumi.Inputs, opts);
    }
  }
  return Resource as unknown as new (
    name: string,
    inputs: ResourceInputs<I>,
    opts?: pulumi.CustomResourceOptions,
  ) => MaintenanceResource & ResourceOutputs<O, L>;
}
