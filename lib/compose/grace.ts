/**
 * Sidekiq needs its shutdown timeout (25 s by default) plus a margin to finish or push back the
 * jobs it is running; Compose gives a container `stop_grace_period` (10 s unless set) before it
 * kills it. Read the project's compose files, as `docker compose` would find them, and say when
 * the grace period is too short. Reading only: safe at preview.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type * as Yaml from "yaml";

export const SIDEKIQ_SHUTDOWN_TIMEOUT_SECONDS = 25;
export const GRACE_MARGIN_SECONDS = 5;
export const COMPOSE_DEFAULT_GRACE_SECONDS = 10;

/** The file `docker compose` picks without -f, in its order of preference, and the override it merges. */
const COMPOSE_FILES = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
const OVERRIDE_FILES = [
  "compose.override.yaml",
  "compose.override.yml",
  "docker-compose.override.yaml",
  "docker-compose.override.yml",
];

const UNITS: Record<string, number> = {
  h: 3600,
  m: 60,
  s: 1,
  ms: 0.001,
  us: 0.000001,
  µs: 0.000001,
  ns: 1e-9,
};

/** A Compose duration (`1m30s`, `45s`, `500ms`, or a bare number of seconds) in seconds; undefined when unreadable. */
export function parseComposeDuration(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0);
}

export interface GracePeriod {
  seconds?: number;
  /** Where it was read, or why it is the default. */
  source: string;
  /** The raw value when it could not be read. */
  unreadable?: string;
}

/** The compose files of a project directory, in the order they are merged. */
export function composeFiles(projectDirectory: string): string[] {
  const main = COMPOSE_FILES.map((f) => path.join(projectDirectory, f)).find((f) => existsSync(f));
  if (!main) return [];
  const override = OVERRIDE_FILES.map((f) => path.join(projectDirectory, f)).find((f) => existsSync(f));
  return override ? [main, override] : [main];
}

export function stopGracePeriod(files: string[], service: string): GracePeriod {
  let found: GracePeriod = {
    seconds: COMPOSE_DEFAULT_GRACE_SECONDS,
    source: `Compose default; stop_grace_period not set for ${service}`,
  };
  // Loaded on first use, not with the module: only a Compose update reads compose files.
  const { parse } = require("yaml") as typeof Yaml;
  for (const file of files) {
    const doc = parse(readFileSync(file, "utf8")) as {
      services?: Record<string, { stop_grace_period?: unknown }>;
    } | null;
    const raw = doc?.services?.[service]?.stop_grace_period;
    if (raw === undefined) continue;
    const seconds = parseComposeDuration(raw);
    found =
      seconds === undefined
        ? { source: path.basename(file), unreadable: String(raw) }
        : { seconds, source: path.basename(file) };
  }
  return found;
}

/** One warning line when the Sidekiq service's grace period is too short or cannot be checked. */
export function sidekiqGraceWarning(projectDirectory: string, service: string): string | undefined {
  const required = SIDEKIQ_SHUTDOWN_TIMEOUT_SECONDS + GRACE_MARGIN_SECONDS;
  const files = composeFiles(projectDirectory);
  if (files.length === 0) {
    return `compose.projectDirectory ${projectDirectory}: no compose file found (${COMPOSE_FILES.join(", ")}); cannot check stop_grace_period of ${service} (needs >= ${required}s)`;
  }
  let grace: GracePeriod;
  try {
    grace = stopGracePeriod(files, service);
  } catch (error) {
    return `cannot read ${files.join(", ")} to check stop_grace_period of ${service}: ${(error as Error).message.split("\n")[0]}`;
  }
  if (grace.unreadable !== undefined) {
    return `${service}: stop_grace_period "${grace.unreadable}" in ${grace.source} is not a duration Compose accepts; it must be >= ${required}s`;
  }
  if ((grace.seconds ?? 0) >= required) return undefined;
  return (
    `${service}: stop_grace_period is ${grace.seconds}s (${grace.source}); Sidekiq needs its ${SIDEKIQ_SHUTDOWN_TIMEOUT_SECONDS}s ` +
    `shutdown timeout plus a margin, so \`docker compose stop\` would kill in-flight jobs: set stop_grace_period: ${required}s or more`
  );
}
