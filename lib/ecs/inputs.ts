/**
 * The inputs of one ECS scaling step as the dynamic provider receives them (plain JSON from
 * state or from the program), checked at preview without calling AWS.
 */
import {
  nonEmptyStringFailure,
  waitFailures,
  wholeFailure,
  type InputFailure,
  type Inputs,
} from "../config/validation";
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

export function checkEcsInputs(news: Inputs): InputFailure[] {
  return [
    ...nonEmptyStringFailure(news, "cluster"),
    ...nonEmptyStringFailure(news, "service"),
    ...wholeFailure(news, "desiredCount", 0),
    ...waitFailures(news),
    ...nonEmptyStringFailure(news, "region", { optional: true }),
    ...nonEmptyStringFailure(news, "endpoint", { optional: true }),
  ];
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
