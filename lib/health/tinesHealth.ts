/**
 * The last gate of a startup: wait until Tines itself reports healthy. tines-app answers
 * `/is_up` with 200 only when PostgreSQL, Redis and at least one Sidekiq process are
 * reachable, and `/health` always with 200 and a JSON `healthy` field; the operator points
 * `health.url` at either, through whatever is in front (nginx, a load balancer, the service).
 */
import { abortReason } from "../deadline";
import { GateError, oneLine } from "../errors";
import { formatSeconds, quietProgress, realClock, type Clock, type ProgressReporter } from "../progress";
import { httpTargetName } from "../serverNames";

export interface HealthSettings {
  /** `/is_up` or `/health` of tines-app; may hold credentials (kept secret). */
  url: string;
  timeoutSeconds: number;
  intervalSeconds: number;
}

export interface HealthAnswer {
  healthy: boolean;
  /** What Tines answered, for progress and the failure: `HTTP 500`, `HTTP 200 healthy: false`, ... */
  status: string;
}

export interface HealthResult {
  /** ISO time of the first healthy answer. */
  healthyAt: string;
  waitedSeconds: number;
  status: string;
  attempts: number;
}

/** Reads Tines' answer: 200 is healthy unless the body is JSON with a `healthy` field that says otherwise. */
export function interpretHealthAnswer(statusCode: number, body: string): HealthAnswer {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const fields = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : undefined;
  const failing = fields
    ? Object.entries(fields)
        .filter(([key, value]) => key !== "healthy" && value === false)
        .map(([key]) => `${key}: false`)
    : [];
  const detail = failing.length > 0 ? ` (${failing.join(", ")})` : "";
  if (statusCode !== 200) return { healthy: false, status: `HTTP ${statusCode}${detail}` };
  if (fields && typeof fields.healthy === "boolean") {
    return { healthy: fields.healthy, status: `HTTP 200 healthy: ${String(fields.healthy)}${detail}` };
  }
  return { healthy: true, status: "HTTP 200" };
}

/** One GET of the health URL; a network failure is an unhealthy answer, not an error. */
export async function probeTinesHealth(url: string, timeoutMs: number): Promise<HealthAnswer> {
  // Required here: dynamic providers serialize this code by value.
  const transport = (
    url.startsWith("https:") ? require("node:https") : require("node:http")
  ) as typeof import("node:http");
  return new Promise((resolve) => {
    const request = transport.get(
      url,
      { timeout: timeoutMs, headers: { accept: "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 65_536) chunks.push(chunk);
        });
        res.on("end", () =>
          resolve(interpretHealthAnswer(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"))),
        );
        res.on("error", (error) => resolve({ healthy: false, status: oneLine(error) }));
      },
    );
    const noAnswer = () => request.destroy(new Error(`no answer within ${formatSeconds(timeoutMs / 1000)}`));
    // `timeout` bounds idle time only; a server that trickles bytes is bounded as a whole too.
    const whole = setTimeout(noAnswer, timeoutMs);
    request.on("timeout", noAnswer);
    request.on("close", () => clearTimeout(whole));
    request.on("error", (error) => resolve({ healthy: false, status: oneLine(error) }));
  });
}

/**
 * Polls until Tines answers healthy, reporting what it answered and the time left; fails
 * after `timeoutSeconds` with the last answer. Starting nothing and stopping nothing, a
 * failure leaves every service as the startup left it.
 */
export async function waitForTinesHealth(
  settings: HealthSettings,
  reporter: ProgressReporter,
  clock: Clock = realClock,
  probe: (url: string, timeoutMs: number) => Promise<HealthAnswer> = probeTinesHealth,
  signal?: AbortSignal,
): Promise<HealthResult> {
  // host:port/path, not the URL: the engine prints a secret config value as [secret].
  const shown = httpTargetName(settings.url);
  const started = clock.now();
  const deadline = started + settings.timeoutSeconds * 1000;
  const progress = quietProgress(reporter, clock);
  let attempts = 0;
  for (;;) {
    if (signal?.aborted) {
      throw new GateError(
        `tines-health: stopped waiting for Tines at ${shown}, ${abortReason(signal)}; every service has been started`,
      );
    }
    attempts += 1;
    const requestTimeoutMs = Math.max(1000, Math.min(10_000, deadline - clock.now()));
    const answer = await probe(settings.url, requestTimeoutMs);
    if (answer.healthy) {
      const waitedSeconds = Math.round((clock.now() - started) / 100) / 10;
      reporter.info(
        `tines-health: Tines is healthy at ${shown} (${answer.status}) after ${formatSeconds(waitedSeconds)}`,
      );
      return {
        healthyAt: new Date(clock.now()).toISOString(),
        waitedSeconds,
        status: answer.status,
        attempts,
      };
    }
    const left = (deadline - clock.now()) / 1000;
    if (left <= 0) {
      throw new GateError(
        `tines-health: Tines did not report healthy at ${shown} within ${formatSeconds(settings.timeoutSeconds)}; ` +
          `last answer: ${answer.status}. Every service has been started; Tines is healthy only once PostgreSQL, Redis ` +
          "and at least one Sidekiq process are reachable: check tines-app's and tines-sidekiq's logs, then run pulumi up again",
      );
    }
    const line = `tines-health: waiting for Tines at ${shown}: ${answer.status}`;
    progress(line, `${line}; ${formatSeconds(left)} left`);
    await clock.sleep(Math.min(settings.intervalSeconds * 1000, Math.max(0, deadline - clock.now())), signal);
  }
}
