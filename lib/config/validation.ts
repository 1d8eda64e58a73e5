/**
 * Every input check in one place: stack config sections (zod schemas, parsed by
 * `parseSection`) and the inputs a dynamic provider's `check` sees (plain functions that
 * return `InputFailure`s). Both say the same rule in the same words, so an operator reads
 * one message for one mistake wherever it is caught.
 *
 * The plain functions run inside serialized providers: they must not touch a zod schema
 * (its bound methods do not serialize) nor anything else at module level but constants.
 */
import { z } from "zod";
import { ConfigError } from "../errors";
import { PROJECT_NAME } from "../plan/names";

/** One bad input: the key and what it allows. pulumi.dynamic.CheckFailure has this shape. */
export interface InputFailure {
  property: string;
  reason: string;
}

/** Inputs as a provider receives them: plain JSON from the program or from state. */
export type Inputs = Record<string, unknown>;

export const listOf = (values: readonly string[]) => values.join(", ");

// ---- The rules, in words --------------------------------------------------------------

/** `must be a whole number [of <unit>] >= min` or `... from min to max`. */
export function wholeRule(min: number, max?: number, unit?: string): string {
  const what = unit ? `a whole number of ${unit}` : "a whole number";
  return max === undefined ? `must be ${what} >= ${min}` : `must be ${what} from ${min} to ${max}`;
}

/** For durations and rates that may be fractions (e.g. a poll every 0.1 s in tests). */
export function numberRule(min: number, exclusive = false): string {
  return `must be a number ${exclusive ? ">" : ">="} ${min}`;
}

export function oneOfRule(allowed: readonly string[]): string {
  return `must be one of: ${listOf(allowed)}`;
}

/** `oneOfRule` for a value the operator typed: says what was given, or that it is missing. */
export function oneOfMessage(allowed: readonly string[], input: unknown): string {
  return input === undefined
    ? `required; allowed: ${listOf(allowed)}`
    : `${oneOfRule(allowed)} (got ${JSON.stringify(input)})`;
}

export const NON_EMPTY_RULE = "must be a non-empty string";
export const BOOLEAN_RULE = "must be true or false";

/** DOCKER_HOST as the engine client speaks it (lib/compose/engine.ts: no TLS, no ssh). */
export const DOCKER_HOST_PATTERN = /^(unix|tcp):\/\/./;
export const DOCKER_HOST_RULE = "must be unix:///path/to/docker.sock or tcp://host:port";

/** A Kubernetes object or namespace name (RFC 1123 subdomain). */
export function isKubernetesName(value: unknown): value is string {
  return typeof value === "string" && value.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value);
}

/** A URL with one of `protocols` (e.g. ["http:", "https:"]) and a host. */
export function isUrlWith(value: unknown, protocols: readonly string[]): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== "";
  } catch {
    return false;
  }
}

// ---- Checks of provider inputs (no zod: they are serialized with the provider) --------

const failure = (property: string, reason: string): InputFailure[] => [{ property, reason }];

interface Optional {
  /** Absent (undefined) is fine; a present value must still follow the rule. */
  optional?: boolean;
}

/** A count, or a duration the program only ever passes in whole seconds. */
export function wholeFailure(
  inputs: Inputs,
  key: string,
  min: number,
  options: Optional & { max?: number } = {},
): InputFailure[] {
  const value = inputs[key];
  if (value === undefined && options.optional) return [];
  const ok =
    typeof value === "number" &&
    Number.isInteger(value) &&
    value >= min &&
    (options.max === undefined || value <= options.max);
  return ok ? [] : failure(key, wholeRule(min, options.max));
}

/** A duration that may be a fraction of a second. */
export function numberFailure(
  inputs: Inputs,
  key: string,
  min: number,
  options: Optional & { exclusive?: boolean } = {},
): InputFailure[] {
  const value = inputs[key];
  if (value === undefined && options.optional) return [];
  const ok =
    typeof value === "number" && Number.isFinite(value) && (options.exclusive ? value > min : value >= min);
  return ok ? [] : failure(key, numberRule(min, options.exclusive));
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

export function nonEmptyStringFailure(inputs: Inputs, key: string, options: Optional = {}): InputFailure[] {
  const value = inputs[key];
  if (value === undefined && options.optional) return [];
  return isNonEmptyString(value)
    ? []
    : failure(key, options.optional ? `${NON_EMPTY_RULE} when set` : NON_EMPTY_RULE);
}

export function stringFailure(inputs: Inputs, key: string): InputFailure[] {
  return typeof inputs[key] === "string" ? [] : failure(key, "must be a string");
}

export function booleanFailure(inputs: Inputs, key: string): InputFailure[] {
  return typeof inputs[key] === "boolean" ? [] : failure(key, BOOLEAN_RULE);
}

export function oneOfFailure(inputs: Inputs, key: string, allowed: readonly string[]): InputFailure[] {
  return (allowed as readonly unknown[]).includes(inputs[key]) ? [] : failure(key, oneOfRule(allowed));
}

/** The inputs of a scaling step's wait: how long in whole seconds, how often (may be a fraction). */
export function waitFailures(inputs: Inputs): InputFailure[] {
  return [
    ...wholeFailure(inputs, "timeoutSeconds", 1),
    ...numberFailure(inputs, "pollSeconds", 0, { exclusive: true }),
  ];
}

/** `test` decides; `rule` says what is allowed. */
export function ruleFailure(
  inputs: Inputs,
  key: string,
  test: (value: unknown) => boolean,
  rule: string,
  options: Optional = {},
): InputFailure[] {
  const value = inputs[key];
  if (value === undefined && options.optional) return [];
  return test(value) ? [] : failure(key, rule);
}

export function dockerHostFailure(inputs: Inputs, key: string): InputFailure[] {
  return ruleFailure(
    inputs,
    key,
    (v) => typeof v === "string" && DOCKER_HOST_PATTERN.test(v),
    DOCKER_HOST_RULE,
    {
      optional: true,
    },
  );
}

// ---- Stack config: zod schemas that say the same rules ---------------------------------

/** A whole number with the message of `wholeRule`. */
export function wholeNumber(min: number, max?: number, unit?: string) {
  const error = wholeRule(min, max, unit);
  const schema = z.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? schema : schema.max(max, { error });
}

/** An enum whose message lists the allowed values and echoes what was given. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (issue) => oneOfMessage(values, issue.input) });
}

export const booleanSchema = z.boolean({ error: BOOLEAN_RULE });

export const dockerHostSchema = z.string().regex(DOCKER_HOST_PATTERN, { error: DOCKER_HOST_RULE });

/** The keys an object in `schema` at `path` allows, for "unknown key" messages. */
function allowedKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType | undefined): z.core.$ZodType | undefined => {
    const def = s?._zod.def as
      { type?: string; innerType?: z.core.$ZodType; out?: z.core.$ZodType } | undefined;
    if (!def) return undefined;
    if (def.type === "optional" || def.type === "default" || def.type === "nullable")
      return unwrap(def.innerType);
    if (def.type === "pipe") return unwrap(def.out);
    return s;
  };
  for (const segment of path) {
    current = unwrap(current);
    const def = current?._zod.def as {
      type?: string;
      shape?: Record<string, z.core.$ZodType>;
      valueType?: z.core.$ZodType;
    };
    if (def?.type === "object") current = def.shape?.[String(segment)];
    else if (def?.type === "record") current = def.valueType;
    else return [];
  }
  const def = unwrap(current)?._zod.def as { type?: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/** Turn zod's issues into one line: `project:key.path: problem; project:other.key: problem`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], schema?: z.core.$ZodType): string {
  const lines: string[] = [];
  const add = (path: readonly PropertyKey[], message: string) => {
    const line = `${PROJECT_NAME}:${path.map(String).join(".") || "(config)"}: ${message}`;
    if (!lines.includes(line)) lines.push(line);
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const allowed = schema ? allowedKeysAt(schema, issue.path) : [];
      for (const key of issue.keys) {
        add([...issue.path, key], `unknown key${allowed.length ? `; allowed: ${listOf(allowed)}` : ""}`);
      }
    } else {
      add(issue.path, issue.message);
    }
  }
  return lines.join("; ");
}

/** Parse with `schema`; any problem is one ConfigError naming each key and what it allows. */
export function parseConfig<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, schema));
  return parsed.data;
}

/**
 * Parse the stack config section `key` (undefined when it is absent). Parsed under its
 * key so that messages name `<key>.<field>` and list the allowed fields.
 */
export function parseSection<T extends z.ZodType>(
  key: string,
  schema: T,
  raw: unknown,
): z.output<T> | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseConfig(z.strictObject({ [key]: schema }), { [key]: raw });
  return (parsed as Record<string, z.output<T>>)[key];
}
