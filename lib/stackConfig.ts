/**
 * The whole stack config: the core keys (lib/config.ts) plus each concern's own section.
 * `parseStackConfig` is the one validation the program and the `plan` CLI both run.
 */
import { z } from "zod";
import { ConfigError } from "./errors";
import { assertNoDottedKeys, coreConfigShape, coreRules, formatIssues, toCoreConfig, type CoreConfig } from "./config";
import type { PlanGates } from "./plan";

const sectionShape = {
  sidekiq: z.unknown().optional(),
  database: z.unknown().optional(),
  endpoints: z.unknown().optional(),
};

export const STACK_CONFIG_KEYS = [...Object.keys(coreConfigShape), ...Object.keys(sectionShape)];

const stackConfigSchema = z
  .strictObject({ ...coreConfigShape, ...sectionShape })
  .superRefine((raw, ctx) => coreRules(raw, (path, message) => ctx.addIssue({ code: "custom", path, message })));

export interface StackConfig extends CoreConfig {
  sidekiq?: unknown;
  database?: unknown;
  endpoints?: unknown;
}

/** Validate everything at once; any problem is one ConfigError naming each key and what it allows. */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig {
  assertNoDottedKeys(raw, STACK_CONFIG_KEYS);
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, stackConfigSchema));
  const { sidekiq, database, endpoints } = parsed.data;
  return { ...toCoreConfig(parsed.data), sidekiq, database, endpoints };
}

export function planGates(_config: StackConfig): PlanGates {
  return { sidekiq: false, databaseBackup: false, databaseMigration: false, endpoints: false };
}
