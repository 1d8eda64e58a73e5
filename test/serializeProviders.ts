/**
 * Serializes every dynamic provider in `components/providers/index.ts` as `pulumi up` does and
 * loads the text back as the dynamic provider host does. Run in a child process with ts-node
 * (vitest's module transform breaks closure serialization); prints one JSON report on stdout.
 */
import * as pulumi from "@pulumi/pulumi";
import { allProviders } from "../components/providers/index";

const requireFromString = require("require-from-string") as (
  code: string,
  filename?: string,
) => Record<string, unknown>;

const METHODS = ["check", "diff", "create", "read", "update", "delete"] as const;

export interface SerializationReport {
  name: string;
  ok: boolean;
  bytes?: number;
  methods?: string[];
  /** What `check({}, {})` on the loaded copy did: a ReferenceError or TypeError means a lost capture. */
  check?: string;
  error?: string;
}

async function serializeOne(
  name: string,
  provider: pulumi.dynamic.ResourceProvider,
): Promise<SerializationReport> {
  try {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const loaded = requireFromString(serialized.text, `${name}.js`)[serialized.exportName] as () => Record<
      string,
      unknown
    >;
    const handler = loaded();
    const expected = METHODS.filter(
      (m) => typeof (provider as unknown as Record<string, unknown>)[m] === "function",
    );
    const methods = expected.filter((m) => typeof handler[m] === "function");
    const check = await runCheck(handler);
    const ok =
      methods.length === expected.length &&
      expected.includes("create") &&
      !/^(ReferenceError|TypeError)/.test(check);
    return { name, ok, bytes: serialized.text.length, methods, check };
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
async function runCheck(handler: Record<string, unknown>): Promise<string> {
  if (typeof handler.check !== "function") return "none";
  try {
    await (handler.check as (olds: object, news: object) => Promise<unknown>)({}, {});
    return "ran";
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message.split("\n")[0]}` : String(error);
  }
}

async function main(): Promise<void> {
  const reports: SerializationReport[] = [];
  for (const [name, provider] of Object.entries(allProviders))
    reports.push(await serializeOne(name, provider));
  process.stdout.write(`${JSON.stringify(reports)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`serializeProviders: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
