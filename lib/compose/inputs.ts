/**
 * The inputs of one Compose scaling step as the dynamic provider receives them, checked at
 * preview without talking to the engine.
 */
import type { InputFailure } from "../ecs/inputs";

export interface ComposeServiceInputs {
  projectName: string;
  service: string;
  count: number;
  /** DOCKER_HOST form; the provider's DOCKER_HOST or the default socket when unset. */
  dockerHost?: string;
  timeoutSeconds: number;
  pollSeconds: number;
}

export interface ComposeServiceOutputs extends ComposeServiceInputs {
  previousCount: number;
  reachedCount: number;
  containers: number;
}

const isWhole = (v: unknown, min: number) => typeof v === "number" && Number.isInteger(v) && v >= min;

export function checkComposeInputs(news: Record<string, unknown>): InputFailure[] {
  const failures: InputFailure[] = [];
  for (const key of ["projectName", "service"] as const) {
    if (typeof news[key] !== "string" || news[key] === "")
      failures.push({ property: key, reason: "must be a non-empty string" });
  }
  if (!isWhole(news.count, 0)) failures.push({ property: "count", reason: "must be a whole number >= 0" });
  if (!isWhole(news.timeoutSeconds, 1))
    failures.push({ property: "timeoutSeconds", reason: "must be a whole number >= 1" });
  if (typeof news.pollSeconds !== "number" || !(news.pollSeconds > 0)) {
    failures.push({ property: "pollSeconds", reason: "must be a number > 0" });
  }
  if (news.dockerHost !== undefined && !/^(unix|tcp|http):\/\/./.test(String(news.dockerHost))) {
    failures.push({
      property: "dockerHost",
      reason: "must be unix:///path/to/docker.sock or tcp://host:port",
    });
  }
  return failures;
}

export function diffComposeInputs(
  olds: Partial<ComposeServiceOutputs>,
  news: ComposeServiceInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = (["projectName", "service", "dockerHost"] as const).filter((k) => olds[k] !== news[k]);
  return { changes: replaces.length > 0 || olds.count !== news.count, replaces };
}
