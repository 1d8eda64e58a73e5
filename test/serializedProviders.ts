/**
 * Runs dynamic providers as the Pulumi CLI does: serializes each one from
 * `test/support/allProviders.ts` as `pulumi up` does and loads the text back as the
 * dynamic provider host does. Run in a child process with ts-node (vitest's module
 * transform breaks closure serialization) through `test/runSerialized.ts`:
 *
 *   serializedProviders.ts check-all      every provider loads and runs `check({}, {})`
 *   serializedProviders.ts create NAME    the loaded copy's `create` with the JSON inputs
 *                                         in $SERIALIZED_INPUTS (not argv: they may hold passwords),
 *                                         after `configure` with the stack config in
 *                                         $SERIALIZED_CONFIG ({"aws:region": ...}), as the engine does
 *
 * The report is the last line on stdout: `pulumi.log` writes to stdout outside an engine.
 */
import * as pulumi from "@pulumi/pulumi";
import { allProviders } from "./support/allProviders";
import { oneLine } from "../lib/errors";

const requireFromString = require("require-from-string") as (
  code: string,
  filename?: string,
) => Record<string, unknown>;

const METHODS = ["configure", "check", "diff", "create", "read", "update", "delete"] as const;

export interface SerializationReport {
  name: string;
  ok: boolean;
  bytes?: number;
  methods?: string[];
  /** What `check({}, {})` on the loaded copy did: a ReferenceError or TypeError means a lost capture. */
  check?: string;
  error?: string;
}

export interface CreateReport {
  /** Size of the serialized provider text. */
  bytes: number;
  result: { id: string; outs: Record<string, unknown> };
}

async function load(name: string): Promise<{ bytes: number; handler: pulumi.dynamic.ResourceProvider }> {
  const provider = allProviders[name];
  if (!provider)
    throw new Error(`unknown provider "${name}"; one of: ${Object.keys(allProviders).join(", ")}`);
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const loaded = requireFromString(serialized.text, `${name}.js`)[
    serialized.exportName
  ] as () => pulumi.dynamic.ResourceProvider;
  return { bytes: serialized.text.length, handler: loaded() };
}

async function checkOne(name: string): Promise<SerializationReport> {
  try {
    const { bytes, handler } = await load(name);
    const has = (p: object, m: string) => typeof (p as Record<string, unknown>)[m] === "function";
    const expected = METHODS.filter((m) => has(allProviders[name], m));
    const methods = expected.filter((m) => has(handler, m));
    const check = await runCheck(handler);
    const ok =
      methods.length === expected.length &&
      expected.includes("create") &&
      !/^(ReferenceError|TypeError)/.test(check);
    return { name, ok, bytes, methods, check };
  } catch (error) {
    // Keep the capture chain: it names the module and function that could not be serialized.
    const text = error instanceof Error ? error.message : String(error);
    return {
      name,
      ok: false,
      error: text.split("Function code:")[0].replace(/\s+/g, " ").trim().slice(0, 1000),
    };
  }
}

/** `check` must not touch anything, so calling it on empty inputs is safe and runs captured code. */
async function runCheck(handler: pulumi.dynamic.ResourceProvider): Promise<string> {
  if (typeof handler.check !== "function") return "none";
  try {
    await handler.check({}, {});
    return "ran";
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
  }
}

async function main(): Promise<void> {
  const [mode, name] = process.argv.slice(2);
  if (mode === "check-all") {
    const reports: SerializationReport[] = [];
    for (const each of Object.keys(allProviders)) reports.push(await checkOne(each));
    process.stdout.write(`${JSON.stringify(reports)}\n`);
  } else if (mode === "create" && name) {
    const { bytes, handler } = await load(name);
    if (handler.configure) {
      const config = JSON.parse(process.env.SERIALIZED_CONFIG ?? "{}") as Record<string, string>;
      const get = (key: string) => config[key.includes(":") ? key : `tines-maintenance:${key}`];
      await handler.configure({
        config: {
          get,
          require: (key: string) => {
            const value = get(key);
            if (value === undefined) throw new Error(`Missing required configuration key: ${key}`);
            return value;
          },
        },
      });
    }
    const result = await handler.create!(JSON.parse(process.env.SERIALIZED_INPUTS ?? "{}"));
    const report: CreateReport = { bytes, result: { id: result.id, outs: result.outs ?? {} } };
    process.stdout.write(`\n${JSON.stringify(report)}\n`);
  } else {
    throw new Error("usage: serializedProviders.ts check-all | create NAME (inputs in $SERIALIZED_INPUTS)");
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${oneLine(error)}\n`);
  process.exit(1);
});
