/**
 * The inputs of one ECS scaling step as the dynamic provider receives them (plain JSON from
 * state or from the program), checked at preview without calling AWS.
 */
import type { ScalableTargetBounds } from "./api";

export interface EcsServiceCountInputs {
  cluster: string;
  service: string;
  desiredCount: number;
  region?: string;
  endpoint?: string;
  timeoutSeconds: number;
  pollSeconds: number;
}

export interface EcsServiceCountOutputs extends EcsServiceCountInputs {
  previousCount: number;
  reachedCount: number;
  /** The auto scaling bounds this stack pinned, kept until they are put back. */
  savedBounds?: ScalableTargetBounds;
  scalableTarget?: ScalableTargetBounds;
}

export interface InputFailure {
  property: string;
  reason: string;
}

const isWhole = (v: unknown, min: number) => typeof v === "number" && Number.isInteger(v) && v >= min;

export function checkEcsInputs(news: Record<string, unknown>): InputFailure[] {
  const failures: InputFailure[] = [];
  for (const key of ["cluster", "service"] as const) {
    if (typeof news[key] !== "string" || news[key] === "")
      failures.push({ property: key, reason: "must be a non-empty string" });
  }
  if (!isWhole(news.desiredCount, 0))
    failures.push({ property: "desiredCount", reason: "must be a whole number >= 0" });
  if (!isWhole(news.timeoutSeconds, 1))
    failures.push({ property: "timeoutSeconds", reason: "must be a whole number >= 1" });
  if (typeof news.pollSeconds !== "number" || !(news.pollSeconds > 0)) {
    failures.push({ property: "pollSeconds", reason: "must be a number > 0" });
  }
  for (const key of ["region", "endpoint"] as const) {
    if (news[key] !== undefined && (typeof news[key] !== "string" || news[key] === "")) {
      failures.push({ property: key, reason: "must be a non-empty string when set" });
    }
  }
  return failures;
}

/** Which input changes need an update, and which point the resource at another service. */
export function diffEcsInputs(
  olds: Partial<EcsServiceCountOutputs>,
  news: EcsServiceCountInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = (["cluster", "service", "region", "endpoint"] as const).filter((k) => olds[k] !== news[k]);
  const changes = replaces.length > 0 || olds.desiredCount !== news.desiredCount;
  return { changes, replaces };
}
