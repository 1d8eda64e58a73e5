/**
 * Calls `testkit/serializedProviders.ts` in a child process, for tests that must run a provider
 * as the Pulumi CLI loads it (serialized, then evaluated from text): from the sources through
 * ts-node, or compiled as `pulumi up` loads it after `npm ci`.
 */
import { execFile, execFileSync } from "node:child_process";
import path from "node:path";
import { dynamicTypeToken, type DynamicType } from "../lib/plan/names";
import type { CreateReport, SerializationReport } from "./serializedProviders";
import { PROJECT_ROOT } from "./projectRoot";

const root = PROJECT_ROOT;
const tsNode = path.join(root, "node_modules/.bin/ts-node");
const script = path.join(root, "testkit/serializedProviders.ts");

/** The script's command line: from the sources, type-checked or transpiled only, or compiled. */
const RUNNERS = {
  typeChecked: [tsNode, "-P", "tsconfig.json", script],
  transpiled: [tsNode, "-T", "-P", "tsconfig.json", script],
  compiled: [process.execPath, path.join(root, "bin/testkit/serializedProviders.js")],
};

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runChild(
  runner: keyof typeof RUNNERS,
  scriptArgs: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ChildResult> {
  const [command, ...args] = RUNNERS[runner];
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args, ...scriptArgs],
      { cwd: root, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

function lastLine(stdout: string): string {
  return stdout.trim().split("\n").pop() ?? "";
}

/** The script's report (its last line) in `runner` with `args`; a non-zero exit throws its stderr. */
async function report<T>(runner: keyof typeof RUNNERS, args: string[], timeoutMs: number): Promise<T> {
  const run = await runChild(runner, args, process.env, timeoutMs);
  if (run.code !== 0)
    throw new Error(`serializedProviders ${args.join(" ")} (${runner}) failed: ${run.stderr}`);
  return JSON.parse(lastLine(run.stdout)) as T;
}

/** Every provider the program defines, serialized and loaded with full type-checking, as the Pulumi CLI may. */
export async function checkAllSerialized(timeoutMs = 150_000): Promise<SerializationReport[]> {
  return report("typeChecked", ["check-all"], timeoutMs);
}

/** bin/ as `npm ci` leaves it: compiled from the sources as they are (a current build is kept). */
function buildProgram(): void {
  execFileSync(process.execPath, [path.join(root, "scripts/build-program.js")], {
    cwd: root,
    stdio: "ignore",
  });
}

/** Every provider the program defines, serialized and loaded as compiled into bin/. */
export async function checkAllCompiled(timeoutMs = 120_000): Promise<SerializationReport[]> {
  buildProgram();
  return report("compiled", ["check-all"], timeoutMs);
}

/** Every provider's serialized text by type token, as `pulumi up` serializes it compiled. */
export async function serializeAllCompiled(timeoutMs = 120_000): Promise<Record<string, string>> {
  buildProgram();
  return report("compiled", ["serialize-all"], timeoutMs);
}

export type CreateRun =
  ({ ok: true; stdout: string } & CreateReport) | { ok: false; stdout: string; stderr: string };

/** Every provider's serialized text by type token, as the Pulumi CLI loads the program (transpiled). */
export async function serializeAll(timeoutMs = 120_000): Promise<Record<string, string>> {
  return report("transpiled", ["serialize-all"], timeoutMs);
}

/**
 * `create` of the serialized copy of the provider of `definition`. Type-checking is left to
 * `checkAllSerialized`, so each run starts fast. `env` adds to (or, with undefined, removes from) this process's environment.
 */
export async function createSerialized(
  type: DynamicType,
  inputs: unknown,
  options: {
    env?: Record<string, string | undefined>;
    /** Stack config handed to the provider's `configure`, as the engine does (`aws:region`: ...). */
    config?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<CreateRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    SERIALIZED_INPUTS: JSON.stringify(inputs),
    SERIALIZED_CONFIG: JSON.stringify(options.config ?? {}),
  };
  // An explicit undefined removes a variable of this process (AWS_REGION, ...).
  for (const [key, value] of Object.entries(options.env ?? {})) if (value === undefined) delete env[key];
  const run = await runChild(
    "transpiled",
    ["create", dynamicTypeToken(type)],
    env,
    options.timeoutMs ?? 55_000,
  );
  if (run.code !== 0) return { ok: false, stdout: run.stdout, stderr: run.stderr };
  return { ok: true, stdout: run.stdout, ...(JSON.parse(lastLine(run.stdout)) as CreateReport) };
}
