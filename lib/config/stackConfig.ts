/**
 * The whole stack config: the core keys (./core.ts) plus each concern's own section.
 * `parseStackConfig` is the one validation the program and the `plan` CLI both run.
 */
import { z } from "zod";
import { ConfigError } from "../errors";
import {
  PROJECT_NAME,
  assertNoDottedKeys,
  coreConfigShape,
  coreRules,
  toCoreConfig,
  type CoreConfig,
} from "./core";
import { validateDatabaseConfig, type DatabaseConfig } from "../database/config";
import { parseEndpointsConfig, type EndpointsConfig } from "../endpoints/config";
import {
  healthConfigSchema,
  versionGuardConfigSchema,
  type HealthConfig,
  type VersionGuardConfig,
} from "../health/config";
import { sidekiqConfigSchema, type SidekiqConfig } from "../sidekiq/config";
import { parseConfig, parseSection } from "./validation";

/** Sections with rules of their own, validated once the core keys are known to be good. */
const sectionShape = {
  sidekiq: z.unknown().optional(),
  database: z.unknown().optional(),
  endpoints: z.unknown().optional(),
  health: z.unknown().optional(),
  versionGuard: z.unknown().optional(),
};

export const STACK_CONFIG_KEYS = [...Object.keys(coreConfigShape), ...Object.keys(sectionShape)];

const stackConfigSchema = z
  .strictObject({ ...coreConfigShape, ...sectionShape })
  .superRefine((raw, ctx) =>
    coreRules(raw, (path, message) => ctx.addIssue({ code: "custom", path, message })),
  );

export interface StackConfig extends CoreConfig {
  sidekiq?: SidekiqConfig;
  database?: DatabaseConfig;
  endpoints?: EndpointsConfig;
  /** The startup's last gate waits for Tines to report healthy here (none: no gate). */
  health?: HealthConfig;
  versionGuard: VersionGuardConfig;
}

/** Validate everything; any problem is one ConfigError naming each key and what it allows. */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
  assertNoDottedKeys(raw, STACK_CONFIG_KEYS);
  const checked = parseConfig(stackConfigSchema, raw);
  const core = toCoreConfig(checked);
  const sidekiqStops =
    core.phase === "shutdown" &&
    core.services.some((s) => s.key === "tines-sidekiq") &&
    !core.keepRunning.includes("tines-sidekiq");
  if (sidekiqStops && checked.sidekiq === undefined) {
    throw new ConfigError(
      `${PROJECT_NAME}:sidekiq.redisUrl: required to stop tines-sidekiq, so that the drain gate can read its queues; ` +
        "set it with `pulumi config set --secret --path sidekiq.redisUrl redis://...`",
    );
  }
  return {
    ...core,
    sidekiq: parseSection("sidekiq", sidekiqConfigSchema, checked.sidekiq),
    database: validateDatabaseConfig(core, checked.database),
    endpoints:
      checked.endpoints === undefined
        ? undefined
        : parseEndpointsConfig(checked.endpoints, { platform: core.platform, compose: core.compose }),
    health: parseSection("health", healthConfigSchema, checked.health),
    versionGuard: parseSection("versionGuard", versionGuardConfigSchema, checked.versionGuard) ?? {
      allowChange: false,
    },
  };
}
