/**
 * Runs the real program (index.ts) under Pulumi mocks with a given stack config and
 * records every registration with its start and end time. The SDK registers a resource
 * only after everything it depends on has finished registering, and newResource here
 * takes a little time, so start/end order shows the dependency order of the real run.
 */
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { PROJECT_NAME } from "../lib/config";
import { credentialPaths } from "../lib/credentials";

export interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  start: number;
  end: number;
}

export interface ProgramRun {
  registrations: Registration[];
  outputs: Record<string, unknown>;
  /** The first registration of `type` named `name`. */
  find(type: string | RegExp, name: string): Registration;
  /** Input names of the custom resource `name` that arrived as secrets. */
  secretInputs(name: string): string[];
}

/** How the SDK marks a secret value on the wire (runtime/rpc specialSigKey / specialSecretSig). */
function isWireSecret(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

export interface RunOptions {
  preview?: boolean;
  /** Extra state a mocked resource reports back (what its provider's create would return). */
  state?: (registration: Omit<Registration, "start" | "end">) => Record<string, unknown>;
  stack?: string;
  /** Top-level keys left plain although they hold a password (as if set without --secret). */
  plaintextKeys?: string[];
}

let clock = 0;
const tick = () => ++clock;

/**
 * The keys an operator sets with --secret: every top-level key holding a credential, as the
 * engine lists them in PULUMI_CONFIG_SECRET_KEYS, but those in `plaintext`.
 */
export function secretKeysOf(config: Record<string, unknown>, plaintext: string[] = []): string[] {
  return Object.entries(config)
    .filter(([key, value]) => !plaintext.includes(key) && credentialPaths(value).length > 0)
    .map(([key]) => `${PROJECT_NAME}:${key}`);
}

export function toPulumiConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      `${PROJECT_NAME}:${key}`,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

/** An output's value; in preview, values not known yet come back as the SDK's unknown marker. */
async function resolve<T>(output: pulumi.Output<T> | T): Promise<T> {
  if (!pulumi.Output.isInstance(output)) return output as T;
  // `apply` never runs for an unknown value (preview), so read the promise with unknowns kept.
  const internal = output as unknown as { promise(withUnknowns?: boolean): Promise<T> };
  return internal.promise(true);
}

export async function runProgram(
  config: Record<string, unknown>,
  options: RunOptions = {},
): Promise<ProgramRun> {
  const registrations: Registration[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const start = tick();
        await new Promise((r) => setTimeout(r, 2));
        const base = { type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> };
        const state = { ...args.inputs, ...(options.state?.(base) ?? {}) };
        registrations.push({ ...base, start, end: tick() });
        // Preview: the engine reports no id for a resource it would create.
        return { id: options.preview ? undefined : `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    PROJECT_NAME,
    options.stack ?? "test",
    options.preview ?? false,
  );
  pulumi.runtime.setAllConfig(toPulumiConfig(config), secretKeysOf(config, options.plaintextKeys));
  vi.resetModules();
  const program = (await import("../index")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await resolve(value);
  return {
    registrations,
    outputs,
    secretInputs(name) {
      const match = registrations.find((r) => r.name === name && r.type.startsWith("pulumi-nodejs:dynamic"));
      return Object.entries(match?.inputs ?? {})
        .filter(([, value]) => isWireSecret(value))
        .map(([key]) => key);
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
  };
}
