/**
 * Runs dynamic providers as the Pulumi CLI does: serializes each provider the program defines
 * (PROVIDERS of components/provider/defineProvider.ts) as `pulumi up` does and loads the text
 * back as the dynamic-provider host does. Run in a child process through `testkit/runSerialized.ts`,
 * with ts-node (vitest's module transform breaks closure serialization), or compiled
 * (bin/testkit/serializedProviders.js, where each provider serializes by reference):
 *
 *   serializedProviders.ts check-all      every provider loads and runs `check({}, {})`
 *   serializedProviders.ts serialize-all  every provider's serialized text, by type token
 *   serializedProviders.ts create TOKEN   the loaded copy's `create` with the JSON inputs
 *                                         in $SERIALIZED_INPUTS (not argv: they may hold passwords),
 *                                         after `configure` with the stack config in
 *                                         $SERIALIZED_CONFIG ({"aws:region": ...}), as the engine does
 *
 * The report is the last line on stdout: `pulumi.log` writes to stdout outside an engine.
 */
import * as pulumi from "@pulumi/pulumi";
// Every provider the program registers is defined by loading these two.
import "../components/gates";
import "../components/platforms";
import { PROVIDERS } from "../components/provider/defineProvider";
import { definitionFor, providerFor } from "../components/provider/registry";
import { oneLine } from "../lib/errors";
import { dynamicTypeToken } from "../lib/plan/names";

const requireFromString = require("require-from-string") as (
  code: string,
  filename?: string,
) => Record<string, unknown>;

const METHODS = ["configure", "check", "diff", "create", "read", "update", "delete"] as const;

export interface SerializationReport {
  /** The provider's type token. */
  name: string;
  ok: boolean;
  bytes?: number;
  methods?: string[];
  /** What `check({}, {})` on the loaded copy did: a ReferenceError or TypeError means a lost capture. */
  check?: string;
  /** Module-level values captured by value that lose their insides in the text (a Set, a Map...). */
  lostCaptures?: string[];
  error?: string;
}

export interface CreateReport {
  /** Size of the serialized provider text. */
  bytes: number;
  result: { id: string; outs: Record<string, unknown> };
}

/** As `pulumi.dynamic.Resource` serializes its provider (by reference when this runs compiled). */
async function serialize(token: string) {
  const serialized = definitionFor(token).serialized;
  return pulumi.runtime.serializeFunction(() => serialized, { allowSecrets: true });
}

/** As the dynamic-provider host loads it: `requireFromString(text).handler()`. */
async function load(
  token: string,
): Promise<{ bytes: number; text: string; handler: pulumi.dynamic.ResourceProvider }> {
  const serialized = await serialize(token);
  const loaded = requireFromString(serialized.text, `${token}.js`)[
    serialized.exportName
  ] as () => pulumi.dynamic.ResourceProvider;
  return { bytes: serialized.text.length, text: serialized.text, handler: loaded() };
}

/**
 * A captured built-in object serializes as an empty object holding the built-in's methods:
 * `Set.prototype.has` then throws "called on incompatible receiver" in the provider host.
 */
function lostCaptures(text: string): string[] {
  const found = text.matchAll(
    /defineProperty\((__\w+), "\w+", \{[^\n]*value: global\.(\w+)\.prototype\.\w+ \}\)/g,
  );
  return [...new Set([...found].map((m) => `${m[1].replace(/^__/, "")} (a ${m[2]})`))];
}

async function checkOne(token: string): Promise<SerializationReport> {
  try {
    const { bytes, text, handler } = await load(token);
    const has = (p: object, m: string) => typeof (p as Record<string, unknown>)[m] === "function";
    const expected = METHODS.filter((m) => has(providerFor(token), m));
    const methods = expected.filter((m) => has(handler, m));
    const check = await runCheck(handler);
    const lost = lostCaptures(text);
    const ok =
      methods.length === expected.length &&
      expected.includes("create") &&
      !/^(ReferenceError|TypeError)/.test(check) &&
      lost.length === 0;
    return { name: token, ok, bytes, methods, check, lostCaptures: lost };
  } catch (error) {
    // Keep the capture chain: it names the module and function that could not be serialized.
    const text = error instanceof Error ? error.message : String(error);
    return {
      name: token,
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
  const [mode, token] = process.argv.slice(2);
  const tokens = PROVIDERS.map((d) => dynamicTypeToken(d.type));
  if (mode === "check-all") {
    const reports: SerializationReport[] = [];
    for (const each of tokens) reports.push(await checkOne(each));
    process.stdout.write(`${JSON.stringify(reports)}\n`);
  } else if (mode === "serialize-all") {
    const texts: Record<string, string> = {};
    for (const each of tokens) texts[each] = (await serialize(each)).text;
    process.stdout.write(`\n${JSON.stringify(texts)}\n`);
  } else if (mode === "create" && token) {
    const { bytes, handler } = await load(token);
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
    throw new Error(
      "usage: serializedProviders.ts check-all | serialize-all | create TOKEN (inputs in $SERIALIZED_INPUTS)",
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${oneLine(error)}\n`);
  process.exit(1);
});
