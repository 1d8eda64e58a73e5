/**
 * What a `sidekiq-carry` gate does, without Pulumi, shaped like lib/sidekiq/gate.ts: input
 * checks and the diff (no I/O), the read-only pre-check (preview and before the first stop),
 * and the run (after tines-sidekiq is at 0, before the endpoint switch), whose outputs are the
 * audit record: counts, due times, method and timings, never a URL's password.
 */
import { GateError } from "../errors";
import type { ProgressReporter } from "../progress";
import { hostPort } from "../serverNames";
import {
  oneOfFailure,
  ruleFailure,
  stringFailure,
  type InputFailure,
  type Inputs,
} from "../config/validation";
import { connectRedis, readSnapshotWith } from "./api";
import {
  carrySidekiqJobs,
  DEFAULT_COMMAND_TIMEOUT_MS,
  precheckCarry,
  PROGRAM_NAMES,
  type CarryNames,
  type CarryRefusal,
  type CarrySurvey,
  type EntryCounts,
  type QueueSize,
} from "./carry";
import {
  isValidNamespace,
  NAMESPACE_RULE,
  REDIS_SWITCH_MODES,
  sidekiqRedisUrlProblem,
  type RedisSwitchMode,
} from "./config";
import { gateDiff } from "./gate";
import { heldFromSnapshot, heldJobsSentence, heldRecord, type HeldJobs, type HeldRecord } from "./heldJobs";

export interface CarryGateInputs {
  /** The Redis Tines leaves: `sidekiq.redisUrl`. Secret. */
  fromUrl: string;
  /** The Redis Tines moves to: `endpoints.redisUrl`. Secret. */
  toUrl: string;
  /** redis-namespace prefix, "" for none (`sidekiq.namespace`). */
  namespace: string;
  /** `sidekiq.onRedisSwitch`. */
  mode: RedisSwitchMode;
  /** The update's run id: a new one runs the gate again (every update; the carry is idempotent). */
  trigger: string;
}

export interface CarryGateOutputs {
  /** The old Redis as `host:port`: no scheme, user or password. */
  from: string;
  /** The new Redis as `host:port`. */
  to: string;
  namespace: string;
  mode: RedisSwitchMode;
  trigger: string;
  /**
   * carried: the new Redis holds everything, verified on both sides; nothing-to-carry: the
   * old Redis held none of it; same-redis: both URLs reach one Redis; discarded: mode discard.
   */
  outcome: "carried" | "nothing-to-carry" | "same-redis" | "discarded";
  /** The sentence the log, `maint report` and the audit show. */
  summary: string;
  /** What the old Redis held when the gate ran. */
  held: HeldRecord;
  /** Non-empty queue lists of the old Redis. */
  queues: QueueSize[];
  /** Entries the new Redis holds after the carry, verified equal to the old Redis. */
  carried: EntryCounts;
  /** Entries this run wrote (a rerun writes none). */
  written: EntryCounts;
  /** Entries the new Redis does not hold (mode discard). */
  leftBehind: EntryCounts;
  method: string;
  warnings: string[];
  startedAt: string;
  finishedAt: string;
  seconds: { survey: number; copy: number; verify: number; total: number };
}

/** The pre-check's record: what is there and what would happen, before anything stops. */
export interface CarryPrecheckOutputs {
  from: string;
  to: string;
  namespace: string;
  mode: RedisSwitchMode;
  summary: string;
  held: HeldRecord;
  queues: QueueSize[];
  sameRedis: boolean;
  warnings: string[];
  checkedAt: string;
}

export interface CarryRunOptions {
  signal?: AbortSignal;
  names?: CarryNames;
  commandTimeoutMs?: number;
  /** Test and bench hook: copy entry by entry even where DUMP/RESTORE works. */
  restore?: boolean;
}

/** `host:port` of a Redis URL, for outputs: the URL itself is a secret. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return hostPort(parsed.hostname, parsed.port || "6379");
  } catch {
    return "?";
  }
}

const ZERO: EntryCounts = { scheduled: 0, retries: 0, dead: 0, queued: 0 };
const LABEL = "sidekiq-carry";

function urlFailure(inputs: Inputs, key: string): InputFailure[] {
  const value = inputs[key];
  if (typeof value !== "string") return [{ property: key, reason: "required; a redis:// or rediss:// URL" }];
  const problem = sidekiqRedisUrlProblem(value);
  return problem ? [{ property: key, reason: problem }] : [];
}

/** Input problems; no I/O, so it runs at preview. */
export function checkCarryInputs(inputs: Inputs): InputFailure[] {
  const failures = [
    ...urlFailure(inputs, "fromUrl"),
    ...urlFailure(inputs, "toUrl"),
    ...oneOfFailure(inputs, "mode", REDIS_SWITCH_MODES),
    ...stringFailure(inputs, "trigger"),
  ];
  // "" is how the components pass "no namespace".
  if (inputs.namespace !== "")
    failures.push(...ruleFailure(inputs, "namespace", isValidNamespace, NAMESPACE_RULE, { optional: true }));
  return failures;
}

/** Runs again for every new trigger (each update), like the drain gate; the carry is idempotent. */
export const carryDiff = gateDiff;

const countsOfHeld = (h: HeldJobs): EntryCounts => ({
  scheduled: h.scheduled,
  retries: h.retries,
  dead: h.dead,
  queued: h.queued,
});

/** What the old Redis holds, read-only, for mode discard (the new Redis is not contacted). */
async function readOldHeld(
  inputs: CarryGateInputs,
  options: CarryRunOptions,
): Promise<{ held: HeldJobs; queues: QueueSize[]; at: number }> {
  const client = await connectRedis(
    { url: inputs.fromUrl },
    { timeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, signal: options.signal },
  );
  const close = () => client.disconnect();
  options.signal?.addEventListener("abort", close, { once: true });
  try {
    const snapshot = await readSnapshotWith(client, inputs.namespace || undefined, 0);
    return {
      held: heldFromSnapshot(snapshot),
      queues: snapshot.queues.filter((q) => q.size > 0).map(({ name, size }) => ({ name, size })),
      at: snapshot.at,
    };
  } finally {
    options.signal?.removeEventListener("abort", close);
    close();
  }
}

function target(inputs: CarryGateInputs) {
  return { fromUrl: inputs.fromUrl, toUrl: inputs.toUrl, namespace: inputs.namespace || undefined };
}

/** The refusals as one error: one line each, joined, each naming its key and what to do. */
export function refusalError(refusals: readonly CarryRefusal[]): GateError {
  return new GateError(refusals.map((r) => r.message).join("; "));
}

/**
 * The read-only pre-check: at preview and before the first stop. Throws GateError with every
 * refusal; resolves with what the old Redis holds and what will become of it. With mode
 * discard nothing is refused and the new Redis is not contacted.
 */
export async function runCarryPrecheck(
  inputs: CarryGateInputs,
  reporter: ProgressReporter,
  options: CarryRunOptions = {},
): Promise<CarryPrecheckOutputs> {
  const base = {
    from: redisAddress(inputs.fromUrl),
    to: redisAddress(inputs.toUrl),
    namespace: inputs.namespace,
    mode: inputs.mode,
  };
  if (inputs.mode === "discard") {
    const { held, queues, at } = await readOldHeld(inputs, options);
    const summary = heldJobsSentence(held, "discard", at);
    reporter.info(`${LABEL}: ${summary}`);
    return {
      ...base,
      summary,
      held: heldRecord(held),
      queues,
      sameRedis: false,
      warnings: [],
      checkedAt: new Date(at).toISOString(),
    };
  }
  const result = await precheckCarry(target(inputs), {
    reporter,
    signal: options.signal,
    names: options.names ?? PROGRAM_NAMES,
    commandTimeoutMs: options.commandTimeoutMs,
    label: LABEL,
  });
  if (result.refusals.length > 0) throw refusalError(result.refusals);
  const survey = result.survey as CarrySurvey;
  for (const warning of survey.warnings) reporter.warn(`${LABEL}: ${warning}`);
  const summary = survey.sameRedis
    ? `${heldJobsSentence(survey.held, "stay", survey.at)} (the new REDIS_URL reaches the same Redis)`
    : heldJobsSentence(survey.held, "carry", survey.at);
  reporter.info(`${LABEL}: ${summary}`);
  return {
    ...base,
    summary,
    held: heldRecord(survey.held),
    queues: survey.queues,
    sameRedis: survey.sameRedis,
    warnings: survey.warnings,
    checkedAt: new Date(survey.at).toISOString(),
  };
}

/**
 * The gate: with mode carry, copies and verifies (throws GateError on any refusal before
 * writing, and on a failed verification); with mode discard, records what is left behind.
 */
export async function runCarryGate(
  inputs: CarryGateInputs,
  reporter: ProgressReporter,
  options: CarryRunOptions = {},
): Promise<CarryGateOutputs> {
  const startedAt = new Date().toISOString();
  const base = {
    from: redisAddress(inputs.fromUrl),
    to: redisAddress(inputs.toUrl),
    namespace: inputs.namespace,
    mode: inputs.mode,
    trigger: inputs.trigger,
  };
  if (inputs.mode === "discard") {
    const t = performance.now();
    const { held, queues, at } = await readOldHeld(inputs, options);
    const summary = heldJobsSentence(held, "discarded", at);
    reporter.warn(`${LABEL}: ${summary}`);
    const total = Math.round(performance.now() - t) / 1000;
    return {
      ...base,
      outcome: "discarded",
      summary,
      held: heldRecord(held),
      queues,
      carried: ZERO,
      written: ZERO,
      leftBehind: countsOfHeld(held),
      method: "none",
      warnings: [],
      startedAt,
      finishedAt: new Date().toISOString(),
      seconds: { survey: total, copy: 0, verify: 0, total },
    };
  }
  const result = await carrySidekiqJobs(target(inputs), {
    reporter,
    signal: options.signal,
    names: options.names ?? PROGRAM_NAMES,
    commandTimeoutMs: options.commandTimeoutMs,
    restore: options.restore,
    label: LABEL,
    // The pre-check passed over every key before the first stop; inside the window, only Sidekiq's names.
    scan: "named",
  });
  const { survey } = result;
  const summary =
    result.outcome === "same-redis"
      ? `${heldJobsSentence(survey.held, "stay", survey.at)} (the new REDIS_URL reaches the same Redis)`
      : heldJobsSentence(survey.held, "carried", survey.at);
  const written = result.written;
  const wrote = written.scheduled + written.retries + written.dead + written.queued;
  reporter.info(
    `${LABEL}: ${summary}; verified on both sides (${wrote} entries written, ${survey.alreadyThere} already there, ` +
      `${result.method}, ${result.seconds.total}s)`,
  );
  return {
    ...base,
    outcome: result.outcome,
    summary,
    held: heldRecord(survey.held),
    queues: survey.queues,
    carried: result.outcome === "same-redis" ? ZERO : result.verified,
    written,
    leftBehind: ZERO,
    method: result.method,
    warnings: result.warnings,
    startedAt,
    finishedAt: new Date().toISOString(),
    seconds: result.seconds,
  };
}
