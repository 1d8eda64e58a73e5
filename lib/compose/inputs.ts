/**
 * The inputs of one Compose scaling step as the dynamic provider receives them, checked at
 * preview without talking to the engine.
 */
import {
  dockerHostFailure,
  nonEmptyStringFailure,
  waitFailures,
  wholeFailure,
  type InputFailure,
  type Inputs,
} from "../config/validation";

export interface ComposeServiceInputs {
  projectName: string;
  service: string;
  count: number;
  /** DOCKER_HOST form; the provider's DOCKER_HOST or the default socket when unset. */
  dockerHost?: string;
  timeoutSeconds: number;
  pollSeconds: number;
  /** The project's directory: a startup re-creates containers whose config no longer matches its files. */
  projectDirectory?: string;
  /** A standalone `docker-compose` binary; unset: `docker compose` on the provider's PATH. */
  composeCli?: string;
}

export interface ComposeServiceOutputs extends ComposeServiceInputs {
  previousCount: number;
  reachedCount: number;
  containers: number;
  /** Containers re-created with the project's current config (after an endpoint switch). */
  recreated?: number;
}

export function checkComposeInputs(news: Inputs): InputFailure[] {
  return [
    ...nonEmptyStringFailure(news, "projectName"),
    ...nonEmptyStringFailure(news, "service"),
    ...wholeFailure(news, "count", 0),
    ...waitFailures(news),
    ...nonEmptyStringFailure(news, "projectDirectory", { optional: true }),
    ...nonEmptyStringFailure(news, "composeCli", { optional: true }),
    ...dockerHostFailure(news, "dockerHost"),
  ];
}

export function diffComposeInputs(
  olds: Partial<ComposeServiceOutputs>,
  news: ComposeServiceInputs,
): { changes: boolean; replaces: string[] } {
  const replaces = (["projectName", "service", "dockerHost"] as const).filter((k) => olds[k] !== news[k]);
  return { changes: replaces.length > 0 || olds.count !== news.count, replaces };
}
