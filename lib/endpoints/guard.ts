/**
 * The endpoint guard: DATABASE_HOST / REDIS_URL may change only while Tines is shut down.
 * Pure rules, so the program (at registration), the provider (check/diff at preview, and
 * again just before writing) and tests all apply the same ones.
 */
import { GateError } from "../errors";
import type { Plan } from "../plan/plan";
import { APPLICATION_TIER } from "../plan/services";

/** What the switch last wrote (or found already in place), without any secret in clear. */
export interface AppliedEndpoints {
  databaseHost?: string;
  /** sha256 of REDIS_URL: compares without keeping the password in plain state. */
  redisUrlSha256?: string;
  /** Host only, for outputs and messages. */
  redisHost?: string;
}

export interface DesiredEndpoints {
  databaseHost?: string;
  redisUrl?: string;
}

export function sha256(value: string): string {
  // Node built-ins are required where used: dynamic providers serialize this code by value.
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return createHash("sha256").update(value).digest("hex");
}

/** The names of the endpoints that differ from what was last applied; unset means "not managed". */
export function endpointChanges(applied: AppliedEndpoints | undefined, desired: DesiredEndpoints): string[] {
  if (!applied) return [];
  const changes: string[] = [];
  if (desired.databaseHost !== undefined && desired.databaseHost !== applied.databaseHost)
    changes.push("databaseHost");
  if (desired.redisUrl !== undefined && sha256(desired.redisUrl) !== applied.redisUrlSha256)
    changes.push("redisUrl");
  return changes;
}

/**
 * Why the plan does not allow an endpoint change, or undefined when it does: the phase
 * must be shutdown and every application-tier service in the plan must go to 0 (data
 * stores may stay up, e.g. Postgres for a migration).
 */
export function switchRefusal(plan: Pick<Plan, "phase" | "steps">): string | undefined {
  if (plan.phase !== "shutdown")
    return `phase is ${plan.phase}; endpoints may change only with phase shutdown`;
  const up = plan.steps
    .filter((s) => s.type === "service" && APPLICATION_TIER.includes(s.name) && s.targetCount > 0)
    .map((s) => s.name);
  if (up.length > 0)
    return `${up.join(", ")} would stay up (keepRunning); every application service must be at 0`;
  return undefined;
}

/** Application-tier services the platform still reports running (counts as the service steps reached them). */
export function servicesStillUp(reached: Record<string, number>): string[] {
  return Object.entries(reached)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} (${count} running)`);
}

/** One line refusing the change, naming what changed, why, and what to do. */
export function refuseChange(changes: string[], reason: string): GateError {
  const keys = changes.map((c) => `endpoints.${c}`).join(" and ");
  return new GateError(
    `endpoint-switch: refused to change ${keys}: ${reason}. ` +
      `Set phase shutdown and run pulumi up first (all services down), then change endpoints; nothing was changed`,
  );
}

/** Throws when `desired` changes what was applied and the plan (or the live services) do not allow it. */
export function assertSwitchAllowed(
  applied: AppliedEndpoints | undefined,
  desired: DesiredEndpoints,
  refusal: string | undefined,
  reached: Record<string, number> = {},
): void {
  const changes = endpointChanges(applied, desired);
  if (changes.length === 0) return;
  if (refusal) throw refuseChange(changes, refusal);
  const up = servicesStillUp(reached);
  if (up.length > 0) throw refuseChange(changes, `still up: ${up.join(", ")}`);
}

export function appliedFrom(
  desired: DesiredEndpoints,
  redisHostOf: (url: string) => string,
): AppliedEndpoints {
  return {
    ...(desired.databaseHost !== undefined ? { databaseHost: desired.databaseHost } : {}),
    ...(desired.redisUrl !== undefined
      ? { redisUrlSha256: sha256(desired.redisUrl), redisHost: redisHostOf(desired.redisUrl) }
      : {}),
  };
}
