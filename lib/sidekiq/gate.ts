/**
 * What the `sidekiq-drain` and `sidekiq-preflight` resources do, without Pulumi: input
 * checks and diffs (no I/O, they run at preview) and the runs behind `create`/`update`,
 * whose outputs are the audit trail (timestamps and totals, never the URL's password).
 */
import { GateError } from "../errors";
import type { Clock, ProgressReporter } from "../progress";
import { redactUrl } from "../redact";
import {
  numberFailure,
  oneOfFailure,
  ruleFailure,
  stringFailure,
  wholeFailure,
  type InputFailure,
  type Inputs,
} from "../config/validation";
import { readSnapshot, type SidekiqSnapshot } from "./api";
import {
  drainSettingsIssues,
  isValidNamespace,
  NAMESPACE_RULE,
  sidekiqRedisUrlProblem,
  PREFLIGHT_MODES,
  REDIS_SWITCH_MODES,
  type DrainSettings,
  type PreflightMode,
  type RedisSwitchMode,
} from "./config";
import { heldLine, preflightVerdict, samplePreflight, waitForDrain, type DrainSample } from "./drain";
import {
  heldFromSnapshot,
  heldJobsSentence,
  heldRecord,
  type HeldDisposition,
  type HeldRecord,
} from "./heldJobs";

export interface SidekiqTarget {
  /** Secret: passed to the provider as a Pulumi secret and never written to outputs. */
  redisUrl: string;
  namespace?: string;
  /** Changing it re-runs the gate on the next update; nothing else does. */
  trigger: string;
  /**
   * Whether this shutdown moves REDIS_URL to another Redis, and what then becomes of the jobs
   * no drain empties: `sidekiq.onRedisSwitch` (carry, discard), or "" when it does not move.
   * Absent is read as "" (the gate reports them as staying in this Redis).
   */
  redisSwitch?: RedisSwitchMode | "";
}

export type DrainGateInputs = SidekiqTarget & DrainSettings;

export interface PreflightInputs extends SidekiqTarget {
  mode: PreflightMode;
  preflightSeconds: number;
  intervalSeconds: number;
  /** Look-ahead for scheduled jobs and retries, as the drain gate uses. */
  windowSeconds: number;
  maxSize: number;
}

/** One sample as stack outputs keep it. */
export interface AuditSample {
  at: string;
  pending: number;
  enqueued: number;
  scheduledDue: number;
  retriesDue: number;
  busy: number;
}

export interface GateAudit {
  redis: string;
  namespace: string;
  trigger: string;
  outcome: "passed" | "ok" | "warned" | "skipped";
  reason: string;
  startedAt: string;
  finishedAt: string;
  waitedSeconds: number;
  samples: AuditSample[];
  /** What no drain empties (scheduled jobs, retries, dead jobs) at the last sample; absent when skipped. */
  held?: HeldRecord & { summary: string };
}

export type DrainGateOutputs = Omit<DrainGateInputs, "redisUrl"> & GateAudit;
export type PreflightOutputs = Omit<PreflightInputs, "redisUrl"> & GateAudit;

/** Stack outputs keep at most this many samples: enough to audit a 15-minute wait at 5 s. */
export const MAX_AUDIT_SAMPLES = 200;

function targetFailures(inputs: Inputs): InputFailure[] {
  const failures: InputFailure[] = [];
  if (typeof inputs.redisUrl !== "string") {
    failures.push({ property: "redisUrl", reason: "required; a redis:// or rediss:// URL" });
  } else {
    const problem = sidekiqRedisUrlProblem(inputs.redisUrl);
    if (problem) failures.push({ property: "redisUrl", reason: problem });
  }
  // "" is how the components pass "no namespace".
  if (inputs.namespace !== "")
    failures.push(...ruleFailure(inputs, "namespace", isValidNamespace, NAMESPACE_RULE, { optional: true }));
  failures.push(...stringFailure(inputs, "trigger"));
  if (inputs.redisSwitch !== undefined && inputs.redisSwitch !== "")
    failures.push(...oneOfFailure(inputs, "redisSwitch", REDIS_SWITCH_MODES));
  return failures;
}

/*
 * Counts must be whole. Durations may be fractions of a second: the program passes whole
 * seconds (lib/sidekiq/config.ts), tests poll every 0.1 s.
 */
export function checkDrainInputs(inputs: Inputs): InputFailure[] {
  const failures = [
    ...targetFailures(inputs),
    ...numberFailure(inputs, "intervalSeconds", 0.1),
    ...numberFailure(inputs, "windowSeconds", 1),
    ...numberFailure(inputs, "settleSeconds", 0),
    ...wholeFailure(inputs, "maxSize", 0),
    ...wholeFailure(inputs, "maxBusy", 0),
    ...numberFailure(inputs, "timeoutSeconds", 1),
  ];
  if (failures.length > 0) return failures;
  return drainSettingsIssues(inputs as unknown as DrainSettings).map((i) => ({
    property: i.path[0],
    reason: i.message,
  }));
}

export function checkPreflightInputs(inputs: Inputs): InputFailure[] {
  return [
    ...targetFailures(inputs),
    ...numberFailure(inputs, "preflightSeconds", 0),
    ...numberFailure(inputs, "intervalSeconds", 0.1),
    ...numberFailure(inputs, "windowSeconds", 0),
    ...wholeFailure(inputs, "maxSize", 0),
    ...oneOfFailure(inputs, "mode", PREFLIGHT_MODES),
  ];
}

/**
 * A gate samples the queue once per shutdown: re-running it because a setting changed
 * would sample a Redis that may already be down. Only a new trigger (or a failed run,
 * which leaves no state) runs it again.
 */
export function gateDiff(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const changes = (olds.trigger ?? "") !== (news.trigger ?? "");
  return { changes, replaces: [] as string[], deleteBeforeReplace: false };
}

function audit(samples: readonly DrainSample[]): AuditSample[] {
  return samples.slice(-MAX_AUDIT_SAMPLES).map((s) => ({
    at: new Date(s.at).toISOString(),
    pending: s.total,
    enqueued: s.enqueued,
    scheduledDue: s.scheduledDue,
    retriesDue: s.retriesDue,
    busy: s.busy,
  }));
}

function withoutUrl<T extends SidekiqTarget>(
  inputs: T,
): Omit<T, "redisUrl"> & { redis: string; namespace: string } {
  const { redisUrl, ...rest } = inputs;
  return { ...rest, redis: redactUrl(redisUrl), namespace: inputs.namespace ?? "" };
}

export interface RunOptions {
  clock?: Clock;
  signal?: AbortSignal;
}

/** What the gates say of the jobs no drain empties, before the switch. */
export function heldDisposition(redisSwitch: SidekiqTarget["redisSwitch"]): HeldDisposition {
  return redisSwitch === "carry" ? "carry" : redisSwitch === "discard" ? "discard" : "stay";
}

function heldAudit(snapshot: SidekiqSnapshot, disposition: HeldDisposition): GateAudit["held"] {
  const held = heldFromSnapshot(snapshot);
  return { ...heldRecord(held), summary: heldJobsSentence(held, disposition, snapshot.at) };
}

/** The drain gate: resolves with the audit once drained, throws GateError with the samples on timeout. */
export async function runDrainGate(
  inputs: DrainGateInputs,
  reporter: ProgressReporter,
  options: RunOptions = {},
): Promise<DrainGateOutputs> {
  const target = { url: inputs.redisUrl, namespace: inputs.namespace || undefined };
  const disposition = heldDisposition(inputs.redisSwitch);
  const outcome = await waitForDrain(
    (bound) => readSnapshot(target, inputs.windowSeconds, bound),
    inputs,
    reporter,
    {
      ...options,
      label: "sidekiq-drain",
      held: disposition,
    },
  );
  return {
    ...withoutUrl(inputs),
    outcome: "passed",
    reason: outcome.reason,
    startedAt: new Date(outcome.startedAt).toISOString(),
    finishedAt: new Date(outcome.finishedAt).toISOString(),
    waitedSeconds: Math.round(outcome.finishedAt - outcome.startedAt) / 1000,
    samples: audit(outcome.samples),
    held: heldAudit(outcome.last, disposition),
  };
}

/**
 * The shutdown pre-flight: samples for `preflightSeconds`; when the queue is non-zero and
 * not falling, warns (mode warn) or refuses the shutdown before anything has changed.
 */
export async function runPreflight(
  inputs: PreflightInputs,
  reporter: ProgressReporter,
  options: RunOptions = {},
): Promise<PreflightOutputs> {
  const now = () => (options.clock ?? { now: () => Date.now() }).now();
  const startedAt = now();
  const base = { ...withoutUrl(inputs), startedAt: new Date(startedAt).toISOString() };
  if (inputs.mode === "off") {
    return {
      ...base,
      outcome: "skipped",
      reason: "sidekiq.preflight is off",
      finishedAt: base.startedAt,
      waitedSeconds: 0,
      samples: [],
    };
  }
  const target = { url: inputs.redisUrl, namespace: inputs.namespace || undefined };
  let last: SidekiqSnapshot | undefined;
  const samples = await samplePreflight(
    async (bound) => (last = await readSnapshot(target, inputs.windowSeconds, bound)),
    inputs.preflightSeconds,
    inputs.intervalSeconds,
    reporter,
    { ...options, label: "sidekiq-preflight" },
  );
  const verdict = preflightVerdict(samples, inputs.maxSize);
  if (!verdict.pass && inputs.mode === "refuse") {
    throw new GateError(
      `sidekiq-preflight: ${verdict.reason}; nothing was changed (set sidekiq.preflight to warn to proceed anyway)`,
    );
  }
  if (verdict.pass) reporter.info(`sidekiq-preflight: ok: ${verdict.reason}`);
  else reporter.warn(`sidekiq-preflight: ${verdict.reason}`);
  const disposition = heldDisposition(inputs.redisSwitch);
  // samplePreflight reads at least once.
  const snapshot = last as SidekiqSnapshot;
  reporter.info(heldLine("sidekiq-preflight", snapshot, disposition));
  const finishedAt = now();
  return {
    ...base,
    outcome: verdict.pass ? "ok" : "warned",
    reason: verdict.reason,
    finishedAt: new Date(finishedAt).toISOString(),
    waitedSeconds: Math.round(finishedAt - startedAt) / 1000,
    samples: audit(samples),
    held: heldAudit(snapshot, disposition),
  };
}
