/**
 * Stack config: the public contract (README, "Configuration"). Validated in full before a
 * single resource is registered; any problem becomes one ConfigError that names the key
 * and the allowed values. No Pulumi in here, so the `plan` CLI and the program share it.
 */
import { z } from "zod";
import { ConfigError } from "../errors";
import {
  PHASES,
  PLATFORMS,
  SCALE_DOWN_ORDER,
  WORKLOAD_KINDS,
  isServiceKey,
  type Phase,
  type Platform,
  type ServiceKey,
  type WorkloadKind,
} from "../plan/services";
import { PROJECT_NAME } from "../plan/names";
import { dockerHostSchema, listOf, oneOf, wholeNumber } from "./validation";

export { PROJECT_NAME };

/**
 * Stands in for a secret value that could not be decrypted (the `plan` CLI reads
 * `Pulumi.<stack>.yaml` without the stack's key). Schemas of secret values accept it.
 */
export const SECRET_PLACEHOLDER = "[secret]";

const countSchema = wholeNumber(0);

/** A workload name as ECS, Kubernetes and Compose all accept it. */
const workloadNameSchema = z
  .string({ error: "must be a string" })
  .regex(/^[a-z0-9]([a-z0-9-_]{0,253}[a-z0-9])?$/, {
    error: "must be lowercase letters, digits, '-' or '_' (a workload name)",
  });

const serviceEntrySchema = z.preprocess(
  // Only a good count becomes {count}: a bad one is reported at the key the operator set
  // (`services.tines-app`), not at a `.count` they never wrote.
  (value) => (countSchema.safeParse(value).success ? { count: value } : value),
  z.strictObject(
    {
      count: countSchema,
      name: workloadNameSchema.optional(),
      kind: oneOf(WORKLOAD_KINDS).optional(),
    },
    {
      error: (issue) =>
        `must be a count (whole number >= 0) or {count, name?, kind?}${issue.input === undefined ? "" : ` (got ${JSON.stringify(issue.input)})`}`,
    },
  ),
);

export const serviceSchema = serviceEntrySchema;

export const coreConfigShape = {
  phase: oneOf(PHASES),
  platform: oneOf(PLATFORMS),
  services: z.record(z.string(), serviceEntrySchema, { error: "required; a map of service key to count" }),
  keepRunning: z.array(z.string(), { error: "must be a list of service keys" }).default([]),
  stepTimeoutSeconds: wholeNumber(30, undefined, "seconds").default(900),
  ecs: z
    .strictObject({
      cluster: z.string().min(1, { error: "must be a non-empty string" }).default("tines"),
      region: z.string().min(1).optional(),
      /** For tests and private endpoints (e.g. a VPC endpoint or an emulator). */
      endpoint: z.url({ error: "must be a URL" }).optional(),
    })
    .default({ cluster: "tines" }),
  kubernetes: z
    .strictObject({
      namespace: z.string().min(1, { error: "must be a non-empty string" }).default("tines"),
      context: z.string().min(1).optional(),
    })
    .default({ namespace: "tines" }),
  compose: z
    .strictObject({
      projectName: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, {
        error: "must be lowercase letters, digits, '-' or '_' (a Compose project name)",
      }),
      projectDirectory: z.string().min(1, { error: "must be a directory path" }),
      dockerHost: dockerHostSchema,
      cli: z.string().min(1, { error: "must be the path of a docker-compose binary" }),
    })
    .partial()
    .default({}),
};

export interface ServiceConfig {
  key: ServiceKey;
  count: number;
  name?: string;
  kind?: WorkloadKind;
}

export interface CoreConfig {
  phase: Phase;
  platform: Platform;
  /** Only the listed services, in scale-down order. */
  services: ServiceConfig[];
  keepRunning: ServiceKey[];
  stepTimeoutSeconds: number;
  ecs: { cluster: string; region?: string; endpoint?: string };
  kubernetes: { namespace: string; context?: string };
  compose: { projectName?: string; projectDirectory?: string; dockerHost?: string; cli?: string };
}

type RawCoreConfig = z.infer<z.ZodObject<typeof coreConfigShape>>;

/** Cross-field rules that a schema cannot say on its own. */
export function coreRules(
  raw: RawCoreConfig,
  addIssue: (path: (string | number)[], message: string) => void,
): void {
  for (const [key, entry] of Object.entries(raw.services)) {
    if (!isServiceKey(key)) {
      addIssue(["services", key], `unknown service key; allowed: ${listOf(SCALE_DOWN_ORDER)}`);
      continue;
    }
    if (entry.kind && raw.platform !== "kubernetes") {
      addIssue(
        ["services", key, "kind"],
        `applies only to platform kubernetes (platform is ${raw.platform})`,
      );
    }
  }
  if (Object.keys(raw.services).length === 0) {
    addIssue(["services"], `must list at least one service; allowed keys: ${listOf(SCALE_DOWN_ORDER)}`);
  }
  raw.keepRunning.forEach((key, index) => {
    if (!isServiceKey(key)) {
      addIssue(["keepRunning", index], `unknown service key "${key}"; allowed: ${listOf(SCALE_DOWN_ORDER)}`);
    } else if (!(key in raw.services)) {
      addIssue(
        ["keepRunning", index],
        `"${key}" is not in services; allowed: ${listOf(Object.keys(raw.services).filter(isServiceKey)) || "(no services)"}`,
      );
    }
  });
  if (raw.platform === "compose") {
    if (!raw.compose.projectName) addIssue(["compose", "projectName"], "required when platform is compose");
    if (!raw.compose.projectDirectory)
      addIssue(["compose", "projectDirectory"], "required when platform is compose");
  }
}

export function toCoreConfig(raw: RawCoreConfig): CoreConfig {
  const services: ServiceConfig[] = SCALE_DOWN_ORDER.filter((key) => key in raw.services).map((key) => {
    const entry = raw.services[key];
    return { key, ...entry };
  });
  return {
    phase: raw.phase,
    platform: raw.platform,
    services,
    keepRunning: raw.keepRunning.filter(isServiceKey),
    stepTimeoutSeconds: raw.stepTimeoutSeconds,
    ecs: raw.ecs,
    kubernetes: raw.kubernetes,
    compose: raw.compose,
  };
}

/**
 * Parse raw stack config values as Pulumi stores them: `project:key` -> string, where
 * structured values (set with `--path`) are JSON. Returns plain values keyed without the
 * project prefix. Keys of other projects (e.g. `aws:region`) are left out.
 */
export function rawConfigFromPulumi(all: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(all)) {
    const separator = fullKey.indexOf(":");
    if (fullKey.slice(0, separator) !== PROJECT_NAME) continue;
    const key = fullKey.slice(separator + 1);
    out[key] = parseConfigValue(value);
  }
  return out;
}

function parseConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function assertNoDottedKeys(raw: Record<string, unknown>, allowedTopLevel: readonly string[]): void {
  const dotted = Object.keys(raw).filter((k) => k.includes("."));
  if (dotted.length > 0) {
    throw new ConfigError(
      `${PROJECT_NAME}:${dotted[0]}: structured keys must be set with \`pulumi config set --path ${dotted[0]} ...\`; ` +
        `allowed top-level keys: ${listOf(allowedTopLevel)}`,
    );
  }
}
