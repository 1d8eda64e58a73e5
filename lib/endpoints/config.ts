/**
 * Config key `endpoints`: the DATABASE_HOST / REDIS_URL Tines should use, where the
 * platform keeps them, and how the propagation gate checks them before startup.
 * No Pulumi in here: the program, the providers and the CLI share it.
 */
import { z } from "zod";
import { PROJECT_NAME, SECRET_PLACEHOLDER } from "../config/core";
import { ConfigError } from "../errors";
import { parseSection, wholeNumber } from "../config/validation";
import type { Platform } from "../plan/services";

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** 4 or 6 for an IP address, else 0. Required here: dynamic providers serialize this module by value. */
export function isIP(value: string): number {
  return (require("node:net") as typeof import("node:net")).isIP(value);
}

/** A DNS name or an IP address, without scheme or port (what Tines puts in DATABASE_HOST). */
export function isHostname(value: string): boolean {
  return isIP(value) !== 0 || HOSTNAME.test(value);
}

const hostSchema = z
  .string({ error: "must be a host name or IP address" })
  .refine(isHostname, { error: "must be a host name or IP address, without scheme or port" });

const portSchema = z
  .number({ error: "must be a port number 1-65535" })
  .int({ error: "must be a port number 1-65535" })
  .min(1, { error: "must be a port number 1-65535" })
  .max(65535, { error: "must be a port number 1-65535" });

/** REDIS_URL as Tines reads it: `redis://[user:password@]host[:port][/db]` (or `rediss://`). */
export function redisUrlProblem(value: string): string | undefined {
  if (value === SECRET_PLACEHOLDER) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL redis://[user:password@]host[:port][/db] or rediss://...";
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return "must start with redis:// or rediss://";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!host || !isHostname(host)) return "must name a host: redis://host[:port][/db]";
  if (url.pathname && url.pathname !== "/" && !/^\/\d+$/.test(url.pathname))
    return "path must be a database number (/0-/15)";
  return undefined;
}

const redisUrlSchema = z.string({ error: "must be a redis:// URL (a secret)" }).superRefine((value, ctx) => {
  const problem = redisUrlProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const secretStringSchema = z
  .string({ error: "must be a string (a secret)" })
  .min(1, { error: "must not be empty" });

const awsLocation = {
  region: z.string().min(1, { error: "must be an AWS region" }).optional(),
  /** An emulator or a VPC endpoint; S3 then uses path-style addressing. */
  endpoint: z.url({ error: "must be a URL" }).optional(),
};

export const TARGET_KINDS = [
  "env-file",
  "s3-env-file",
  "secrets-manager",
  "kubernetes-secret",
  "kubernetes-configmap",
] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Which target kinds each platform can read its environment from. */
export const TARGETS_BY_PLATFORM: Record<Platform, readonly TargetKind[]> = {
  compose: ["env-file"],
  ecs: ["s3-env-file", "secrets-manager"],
  kubernetes: ["kubernetes-secret", "kubernetes-configmap"],
};

const targetSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("env-file"),
      /** Default: `<compose.projectDirectory>/.env`. */
      path: z.string().min(1, { error: "must be a file path" }).optional(),
    }),
    z.strictObject({
      kind: z.literal("s3-env-file"),
      bucket: z.string().min(3, { error: "must be an S3 bucket name" }),
      key: z.string().min(1, { error: "must be an S3 object key" }),
      ...awsLocation,
    }),
    z.strictObject({
      kind: z.literal("secrets-manager"),
      secretId: z.string().min(1, { error: "must be a secret name or ARN" }),
      ...awsLocation,
    }),
    z.strictObject({
      kind: z.literal("kubernetes-secret"),
      name: z.string().min(1, { error: "must be the name of the Secret the chart renders" }),
      namespace: z.string().min(1).optional(),
    }),
    z.strictObject({
      kind: z.literal("kubernetes-configmap"),
      name: z.string().min(1, { error: "must be the name of the ConfigMap the chart renders" }),
      namespace: z.string().min(1).optional(),
    }),
  ],
  { error: `must be an object with kind one of: ${TARGET_KINDS.join(", ")}` },
);
export type EndpointTarget = z.infer<typeof targetSchema>;

const envKeySchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" });

const seconds = (min: number) => wholeNumber(min, undefined, "seconds");

/** `IP` or `IP:PORT` (`[IPv6]:PORT`): a DNS server the gate asks directly. */
export function parseDnsServer(value: string): { address: string; port: number } | undefined {
  if (isIP(value) !== 0) return { address: value, port: 53 };
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(value) ?? /^([0-9.]+):(\d+)$/.exec(value);
  if (!match || isIP(match[1]) === 0) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { address: match[1], port } : undefined;
}

/** The form `dns.Resolver#setServers` takes. */
export function dnsServerAddress(server: { address: string; port: number }): string {
  return isIP(server.address) === 6
    ? `[${server.address}]:${server.port}`
    : `${server.address}:${server.port}`;
}

export const endpointsConfigSchema = z
  .strictObject({
    /** The new DATABASE_HOST. */
    databaseHost: hostSchema.optional(),
    /** Port the gate connects to; Tines' DATABASE_PORT is not rewritten. */
    databasePort: portSchema.default(5432),
    /** The new REDIS_URL (secret: it may hold a password). */
    redisUrl: redisUrlSchema.optional(),
    /** Where the platform keeps them. Default on compose: `<compose.projectDirectory>/.env`. */
    target: targetSchema.optional(),
    /** Variable names in the target (the Helm chart and .env both use these). */
    keys: z
      .strictObject({
        databaseHost: envKeySchema.default("DATABASE_HOST"),
        redisUrl: envKeySchema.default("REDIS_URL"),
      })
      .default({ databaseHost: "DATABASE_HOST", redisUrl: "REDIS_URL" }),
    propagation: z
      .strictObject({
        /** Servers asked directly besides the system resolver, `IP[:PORT]`; also the source of the TTL. */
        dnsServers: z
          .array(
            z.string().refine((s) => parseDnsServer(s) !== undefined, { error: "must be IP or IP:PORT" }),
            { error: "must be a list of IP[:PORT]" },
          )
          .default([]),
        /** Overrides the TTL the DNS reports (e.g. a resolver that caches longer). */
        ttlSeconds: seconds(0).optional(),
        timeoutSeconds: seconds(10).default(900),
        intervalSeconds: seconds(1).default(5),
        /** Credentials for `SELECT 1`; without them the gate checks Postgres answers its protocol (SSLRequest). */
        database: z
          .strictObject({
            user: z.string().min(1, { error: "must be a database user" }),
            password: secretStringSchema,
            name: z.string().min(1).default("postgres"),
          })
          .optional(),
      })
      .default({ dnsServers: [], timeoutSeconds: 900, intervalSeconds: 5 }),
  })
  .superRefine((raw, ctx) => {
    if (raw.databaseHost === undefined && raw.redisUrl === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "set databaseHost and/or redisUrl (or remove the key)",
      });
    }
    if (raw.keys.databaseHost === raw.keys.redisUrl) {
      ctx.addIssue({
        code: "custom",
        path: ["keys"],
        message: "databaseHost and redisUrl must name different variables",
      });
    }
  });

export type EndpointsConfig = z.infer<typeof endpointsConfigSchema> & { target: EndpointTarget };

export interface EndpointsContext {
  platform: Platform;
  compose: { projectDirectory?: string };
}

/**
 * Validate `endpoints` and resolve the platform default target. Throws one ConfigError
 * naming each bad key and the allowed values.
 */
export function parseEndpointsConfig(raw: unknown, context: EndpointsContext): EndpointsConfig {
  const config = parseSection("endpoints", endpointsConfigSchema, raw);
  if (config === undefined) throw new ConfigError(`${PROJECT_NAME}:endpoints: must be an object`);
  const allowed = TARGETS_BY_PLATFORM[context.platform];
  let target = config.target;
  if (!target) {
    if (context.platform !== "compose") {
      throw new ConfigError(
        `${PROJECT_NAME}:endpoints.target: required on platform ${context.platform}; kind one of: ${allowed.join(", ")}`,
      );
    }
    target = { kind: "env-file" };
  }
  if (!allowed.includes(target.kind)) {
    throw new ConfigError(
      `${PROJECT_NAME}:endpoints.target.kind: "${target.kind}" does not apply to platform ${context.platform}; allowed: ${allowed.join(", ")}`,
    );
  }
  if (target.kind === "env-file" && !target.path && !context.compose.projectDirectory) {
    throw new ConfigError(
      `${PROJECT_NAME}:endpoints.target.path: required when compose.projectDirectory is not set`,
    );
  }
  return { ...config, target };
}

/** The file the Compose project reads, absolute when projectDirectory is. */
export function envFilePath(target: { path?: string }, projectDirectory?: string): string {
  if (target.path) return target.path;
  return `${(projectDirectory ?? ".").replace(/\/+$/, "")}/.env`;
}

/** Host of a REDIS_URL, for outputs and messages (never the password). */
export function redisHost(url: string): string {
  if (url === SECRET_PLACEHOLDER) return SECRET_PLACEHOLDER;
  return new URL(url).hostname.replace(/^\[|\]$/g, "");
}

export function redisPort(url: string): number {
  const port = new URL(url).port;
  return port ? Number(port) : 6379;
}
