/**
 * Reading a stack's config the way the Pulumi CLI hands it to the program, from the files
 * alone: `Pulumi.<stack>.yaml` (plus project-level defaults in `Pulumi.yaml`), without the
 * stack's secrets key and without any backend. The `plan` CLI uses it so that a preview in
 * CI and an operator's laptop print the same plan the program will follow.
 */
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { PROJECT_NAME, SECRET_PLACEHOLDER, rawConfigFromPulumi } from "./core";
import { ConfigError } from "../errors";

export interface StackFile {
  /** The stack name as Pulumi spells it in the file name (`dev` for `org/dev`). */
  stack: string;
  /** Absolute path of `Pulumi.<stack>.yaml`. */
  file: string;
  /** Config keyed without the project prefix, secrets replaced by SECRET_PLACEHOLDER. */
  raw: Record<string, unknown>;
}

export interface ReadStackFileOptions {
  /** The project root: the directory holding `Pulumi.yaml`. */
  projectDir: string;
  /** `--stack`; `org/stack` and `org/project/stack` name the file `Pulumi.stack.yaml`. */
  stack?: string;
  /** Consulted for `PULUMI_STACK` when no stack is given. */
  env?: Record<string, string | undefined>;
}

const STACK_FILE = /^Pulumi\.(.+)\.ya?ml$/;

function parseYamlDocument(text: string, where: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: false });
  } catch (error) {
    const first = (error as Error).message.split("\n")[0];
    throw new ConfigError(`${where}: not valid YAML (${first})`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `{secure: "v1:..."}` is how Pulumi stores an encrypted value, at any depth of a structured value. */
function isSecure(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "secure" && typeof value.secure === "string";
}

function blindSecrets(value: unknown): unknown {
  if (isSecure(value)) return SECRET_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(blindSecrets);
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, blindSecrets(v)]));
  return value;
}

/**
 * Pulumi hands the program every top-level value as a string: scalars as written,
 * structured values as JSON. Turning the YAML into that form and then through the
 * program's own `rawConfigFromPulumi` keeps the two readings identical (e.g. `900` and
 * `"900"` both become the number 900, as they do in the program).
 */
function asPulumiString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function requireNamespaced(key: string, where: string): void {
  if (!/^[^:]+:[^:]+/.test(key)) {
    throw new ConfigError(
      `${where}: config key "${key}" must be of the form <namespace>:<name>, e.g. ${PROJECT_NAME}:phase`,
    );
  }
}

/**
 * The config of one `Pulumi.<stack>.yaml` as the program would see it, keyed without the
 * project prefix. Keys of other namespaces (e.g. `aws:region`) are left out.
 */
export function rawConfigFromStackFile(yamlText: string, where = "stack file"): Record<string, unknown> {
  const doc = parseYamlDocument(yamlText, where);
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new ConfigError(`${where}: must be a YAML map with a "config:" section`);
  const config = doc.config ?? {};
  if (!isPlainObject(config))
    throw new ConfigError(`${where}: "config:" must be a map of <namespace>:<key> to value`);
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    requireNamespaced(key, where);
    strings[key] = asPulumiString(blindSecrets(value));
  }
  return rawConfigFromPulumi(strings);
}

/**
 * Defaults declared in the project file (`config:` of `Pulumi.yaml`), which Pulumi applies
 * to every stack that does not set the key. Keys there may omit the project namespace, and
 * a value is either the default itself or `{type?, default?, description?, secret?}`.
 */
export function projectConfigDefaults(yamlText: string, where = "Pulumi.yaml"): Record<string, unknown> {
  const doc = parseYamlDocument(yamlText, where);
  if (!isPlainObject(doc) || doc.config === undefined || doc.config === null) return {};
  if (!isPlainObject(doc.config)) throw new ConfigError(`${where}: "config:" must be a map`);
  const strings: Record<string, string> = {};
  for (const [key, spec] of Object.entries(doc.config)) {
    const fullKey = key.includes(":") ? key : `${PROJECT_NAME}:${key}`;
    const declared = isPlainObject(spec) && ("type" in spec || "default" in spec || "description" in spec);
    const value = declared ? spec.default : spec;
    if (value !== undefined) strings[fullKey] = asPulumiString(blindSecrets(value));
  }
  return rawConfigFromPulumi(strings);
}

/** Where the stack files live: the project root, or `stackConfigDir` of `Pulumi.yaml`. */
function stackConfigDir(projectDir: string, project: Record<string, unknown>): string {
  const dir = project.stackConfigDir;
  return typeof dir === "string" && dir !== "" ? path.resolve(projectDir, dir) : projectDir;
}

/** The stack names that have a config file in `dir`, sorted. */
export function listStackFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => STACK_FILE.exec(name)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

/** `org/project/stack` -> `stack`: Pulumi names the file after the last segment. */
export function stackFileName(stack: string): string {
  const last = stack.split("/").pop() ?? "";
  if (!/^[A-Za-z0-9_.-]+$/.test(last)) {
    throw new ConfigError(
      `--stack "${stack}": a stack name may only contain letters, digits, '-', '_' and '.'`,
    );
  }
  return last;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`${file}: cannot be read (${(error as Error).message.split("\n")[0]})`);
  }
}

/**
 * Find and read the stack's config file: the stack named by `stack`, else `PULUMI_STACK`,
 * else the only stack file in the project. Project defaults from `Pulumi.yaml` are
 * applied underneath, as Pulumi does.
 */
export function readStackFile(options: ReadStackFileOptions): StackFile {
  const projectDir = path.resolve(options.projectDir);
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  const projectText = readText(projectFile);
  if (projectText === undefined) {
    throw new ConfigError(
      `no Pulumi.yaml in ${projectDir}; run from the project root or pass --project-dir DIR`,
    );
  }
  const projectDoc = parseYamlDocument(projectText, "Pulumi.yaml");
  const project = isPlainObject(projectDoc) ? projectDoc : {};
  const dir = stackConfigDir(projectDir, project);
  const available = listStackFiles(dir);
  const found = available.length > 0 ? available.join(", ") : "(none)";

  const requested = options.stack || options.env?.PULUMI_STACK || undefined;
  let stack: string;
  if (requested) {
    stack = stackFileName(requested);
  } else if (available.length === 1) {
    stack = available[0];
  } else {
    throw new ConfigError(
      `--stack is required: ${available.length === 0 ? "no" : "more than one"} Pulumi.<stack>.yaml in ${dir}; stacks found: ${found}`,
    );
  }

  const candidates = [`Pulumi.${stack}.yaml`, `Pulumi.${stack}.yml`].map((name) => path.join(dir, name));
  for (const file of candidates) {
    const text = readText(file);
    if (text === undefined) continue;
    const where = path.basename(file);
    return {
      stack,
      file,
      raw: { ...projectConfigDefaults(projectText), ...rawConfigFromStackFile(text, where) },
    };
  }
  throw new ConfigError(`--stack ${stack}: no Pulumi.${stack}.yaml in ${dir}; stacks found: ${found}`);
}
