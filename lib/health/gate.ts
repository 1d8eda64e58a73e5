/**
 * What the `tines-health` resource does, kept out of its dynamic provider so that it stays
 * thin. The URL is a secret input; the outputs hold it redacted.
 */
import type { ProgressReporter } from "../progress";
import { redactUrl } from "../redact";
import { isNonEmptyString, ruleFailure, type InputFailure, type Inputs } from "../config/validation";
import { waitForTinesHealth } from "./tinesHealth";

export interface HealthGateInputs {
  url: string;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** The window this startup closes: the gate runs once per window. */
  windowStartedAt: string;
}

export interface HealthGateOutputs {
  /** The URL without credentials. */
  target: string;
  healthyAt: string;
  waitedSeconds: number;
  status: string;
  windowStartedAt: string;
}

export function checkHealthInputs(inputs: Inputs): InputFailure[] {
  return ruleFailure(inputs, "url", isNonEmptyString, "health.url is required");
}

/** Wait again for a new window or a new URL; a running update within the same window keeps the answer. */
export function healthDiff(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const changed =
    olds.windowStartedAt !== news.windowStartedAt ||
    (typeof news.url === "string" && olds.target !== redactUrl(news.url));
  return { changes: changed, replaces: [], deleteBeforeReplace: false };
}

export async function runHealthGate(
  inputs: HealthGateInputs,
  reporter: ProgressReporter,
  options: { signal?: AbortSignal } = {},
): Promise<HealthGateOutputs> {
  const result = await waitForTinesHealth(inputs, reporter, undefined, undefined, options.signal);
  return {
    target: redactUrl(inputs.url),
    healthyAt: result.healthyAt,
    waitedSeconds: result.waitedSeconds,
    status: result.status,
    windowStartedAt: inputs.windowStartedAt,
  };
}
