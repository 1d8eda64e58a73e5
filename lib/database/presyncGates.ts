/**
 * What the presync resource and the shutdown's cut-over do, for the dynamic providers, in
 * the shape of gates.ts: input checks and diffs that touch nothing (preview), a read-only
 * pre-check that connects but writes nothing (preview, and the first thing every run does),
 * and the runs. Inputs carry the URLs (Pulumi secrets); outputs never do.
 *
 * The presync resource (`database-presync`, phase running with database.migration.presync):
 *  - create / update with a new trigger: set up and copy (startPresync), return once the
 *    subscription streams;
 *  - read (`pulumi refresh`): the lag, in bytes and seconds;
 *  - delete (presync set back to false, `pulumi destroy`): remove the subscription, slot and
 *    publication, and the copy while it is still only a copy (its marker says presync); a
 *    copy that was cut over is never dropped;
 *  - a new target URL replaces it, delete first: one slot at a time.
 * The shutdown's migration step calls runCutoverGate instead of the plain copy.
 *
 * The resource stands in every phase while presync is true, so that its state carries from
 * the set-up to the window and on to the startup (`phase` is one of its inputs):
 *  - running, first: set up (applyPresyncResource);
 *  - shutdown: nothing to do, the record stands for the cut-over step, which depends on it;
 *  - running after a shutdown: the startup after the window refuses a slot of ours still on
 *    the source, and otherwise records the presync as spent (a new one: presync false, then true).
 */
import { GateError } from "../errors";
import type { ProgressReporter } from "../progress";
import { redactUrl } from "../redact";
import {
  isNonEmptyString,
  ruleFailure,
  stringFailure,
  wholeFailure,
  type InputFailure,
  type Inputs,
} from "../config/validation";
import { cutOver } from "./cutover";
import { parsePgUrl } from "./connection";
import { comparisonOutputs, type MigrationGateInputs, type MigrationGateOutputs } from "./gates";
import {
  presyncStatus,
  removePresyncObjects,
  resolveTargets,
  startPresync,
  type PresyncTargets,
} from "./presync";
import { checkPresync, CONFIG_PRESYNC_NAMES } from "./presyncChecks";
import { presyncLeftovers, presyncName } from "./presyncObjects";
import type { PresyncStatus } from "./presyncStatus";

export interface PresyncGateInputs {
  /** `database.url` (secret). */
  sourceUrl: string;
  /** `database.migration.targetUrl` (secret). */
  targetUrl: string;
  /** The stack: in the target's marker, so that another stack's copy is never taken for ours. */
  stack: string;
  /** Workers of the initial copy; 0 = the core count. */
  jobs: number;
  noOwner: boolean;
  checksumMaxTableMiB: number;
  /** `database.migration.catchUpTimeoutSeconds`: how long the set-up shows the catch-up of the changes made during the copy. */
  catchUpTimeoutSeconds: number;
  /** A new value sets the presync up again (removing the old one first). */
  trigger: string;
}

export interface PresyncGateOutputs {
  source: string;
  target: string;
  /** The publication, slot and subscription all carry it. */
  name: string;
  startedAt: string;
  tables: number;
  rows: string;
  bytes: number;
  copySeconds: number;
  state: PresyncStatus["state"];
  lagBytes: number;
  /** null while nothing streams. */
  lagSeconds: number | null;
  retainedBytes: number;
  applyErrors: number;
  /** When the lag was read (the update, or the last refresh). */
  readAt: string;
  stack: string;
  trigger: string;
}

export interface CutoverGateInputs extends MigrationGateInputs {
  stack: string;
  catchUpTimeoutSeconds: number;
}

export interface CutoverGateOutputs extends MigrationGateOutputs {
  /** `changed rows` (against the baseline) or `full`. */
  verification: string;
  lagBytesAtStart: number;
  cutover: { catchUp: number; teardown: number; sequences: number; verify: number; total: number };
}

function targets(inputs: Pick<PresyncGateInputs, "sourceUrl" | "targetUrl" | "stack">): PresyncTargets {
  return {
    sourceUrl: inputs.sourceUrl,
    targetUrl: inputs.targetUrl,
    stack: inputs.stack,
    names: CONFIG_PRESYNC_NAMES,
  };
}

/** What both the set-up and the cut-over take from the inputs. */
function runOptions(
  inputs: Omit<PresyncGateInputs, "trigger">,
  reporter: ProgressReporter,
  signal: AbortSignal | undefined,
) {
  return {
    ...targets(inputs),
    jobs: inputs.jobs > 0 ? inputs.jobs : undefined,
    noOwner: inputs.noOwner,
    checksumMaxBytes: inputs.checksumMaxTableMiB * 1024 * 1024,
    catchUpTimeoutSeconds: inputs.catchUpTimeoutSeconds,
    reporter,
    signal,
  };
}

export function checkPresyncInputs(inputs: Inputs): InputFailure[] {
  return [
    ...ruleFailure(inputs, "sourceUrl", isNonEmptyString, "database.url is required"),
    ...ruleFailure(inputs, "targetUrl", isNonEmptyString, "database.migration.targetUrl is required"),
    ...ruleFailure(inputs, "stack", isNonEmptyString, "the stack name is required"),
    ...wholeFailure(inputs, "jobs", 0, { max: 64 }),
    ...wholeFailure(inputs, "checksumMaxTableMiB", 0),
    ...wholeFailure(inputs, "catchUpTimeoutSeconds", 1, { max: 86400 }),
    ...stringFailure(inputs, "trigger"),
  ];
}

/** A new target replaces the presync (the old one removed first); a new trigger sets it up again. */
export function presyncDiff(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const replaces: string[] = [];
  const changed: string[] = [];
  if (typeof news.targetUrl === "string" && olds.target !== redactUrl(news.targetUrl))
    replaces.push("targetUrl");
  if (typeof news.sourceUrl === "string" && olds.source !== redactUrl(news.sourceUrl))
    replaces.push("sourceUrl");
  if ((olds.trigger ?? "") !== (news.trigger ?? "")) changed.push("trigger");
  return {
    changes: replaces.length + changed.length > 0,
    replaces,
    deleteBeforeReplace: true,
  };
}

/**
 * The refusals, read-only (both servers only read): for preview, one line per problem.
 * `start` in phase running, `cutover` in the shutdown (where it also names DDL that ran on
 * the source during the presync).
 */
export async function precheckPresyncGate(
  inputs: Pick<PresyncGateInputs, "sourceUrl" | "targetUrl" | "stack" | "noOwner">,
  mode: "start" | "cutover",
): Promise<{ problems: string[]; warnings: string[] }> {
  const { source, target, name, names } = resolveTargets(targets(inputs));
  const check = await checkPresync(source, target, {
    mode,
    stack: inputs.stack,
    name,
    names,
    noOwner: inputs.noOwner,
  });
  return { problems: check.problems, warnings: check.warnings };
}

function statusOutputs(status: PresyncStatus) {
  return {
    state: status.state,
    lagBytes: status.lagBytes,
    lagSeconds: status.lagSeconds === null ? null : Math.round(status.lagSeconds * 10) / 10,
    retainedBytes: status.retainedBytes,
    applyErrors: status.applyErrors,
    readAt: new Date().toISOString(),
  };
}

export async function runPresyncGate(
  inputs: PresyncGateInputs,
  reporter: ProgressReporter,
  options: { signal?: AbortSignal } = {},
): Promise<PresyncGateOutputs> {
  const result = await startPresync(runOptions(inputs, reporter, options.signal));
  return {
    source: redactUrl(inputs.sourceUrl),
    target: redactUrl(inputs.targetUrl),
    name: result.name,
    startedAt: result.startedAt,
    tables: result.tables,
    rows: result.rows,
    bytes: result.bytes,
    copySeconds: result.copySeconds,
    ...statusOutputs(result.status),
    stack: inputs.stack,
    trigger: inputs.trigger,
  };
}

/** `pulumi refresh`: the outputs with the lag read now. */
export async function readPresyncGate(
  inputs: PresyncGateInputs,
  outputs: PresyncGateOutputs,
): Promise<PresyncGateOutputs> {
  const status = await presyncStatus(targets(inputs));
  return { ...outputs, ...statusOutputs(status) };
}

/** Delete: every replication object of this presync, and the copy while it is only a copy. */
export async function removePresyncGate(
  inputs: Pick<PresyncGateInputs, "sourceUrl" | "targetUrl" | "stack">,
  reporter: ProgressReporter,
): Promise<void> {
  await removePresyncObjects({ ...targets(inputs), reporter, dropTarget: true });
}

/** The shutdown's migration step with presync: catch up, remove the replication, sequences, verify. */
export async function runCutoverGate(
  inputs: CutoverGateInputs,
  reporter: ProgressReporter,
  options: { signal?: AbortSignal } = {},
): Promise<CutoverGateOutputs> {
  const result = await cutOver(runOptions(inputs, reporter, options.signal));
  const s = result.seconds;
  return {
    ...comparisonOutputs(inputs, result.comparison, result.report),
    jobs: inputs.jobs,
    // The shape of the plain migration's outputs: no dump or restore, all of it is the cut-over.
    seconds: { dump: 0, restore: s.catchUp + s.teardown + s.sequences, verify: s.verify, total: s.total },
    finishedAt: new Date().toISOString(),
    trigger: inputs.trigger,
    verification: result.verification,
    lagBytesAtStart: result.lagBytesAtStart,
    cutover: s,
  };
}

/**
 * For the startup after a window whose migration was a cut-over: a slot of this presync
 * still on the source (a killed cut-over) is a refusal naming the recovery; undefined when
 * nothing is left.
 */
export async function presyncLeftoverProblem(
  inputs: Pick<PresyncGateInputs, "sourceUrl" | "targetUrl">,
): Promise<string | undefined> {
  const source = parsePgUrl(inputs.sourceUrl, CONFIG_PRESYNC_NAMES.source);
  const name = presyncName(parsePgUrl(inputs.targetUrl, CONFIG_PRESYNC_NAMES.target));
  const left = await presyncLeftovers(source, { name });
  if (left.lines.length === 0) return undefined;
  return (
    `the presync's replication is still on the source after the window: ${left.lines.join("; ")}; it keeps WAL until removed: ` +
    "finish the cut-over (phase shutdown again, pulumi up) or give the window up and remove it (`maint db-presync remove --from ... --to ...`)"
  );
}

/** The presync resource's inputs: the set-up's, and the phase of the update that registers it. */
export interface PresyncResourceInputs extends PresyncGateInputs {
  phase: "running" | "shutdown";
}

/**
 * What the stack keeps: the inputs (the URLs as secrets, for `read` and `delete`, which get
 * only the state) and the set-up's outputs.
 */
export type PresyncResourceState = PresyncResourceInputs & PresyncGateOutputs;

function isSetUp(olds: Partial<PresyncResourceState> | undefined): olds is PresyncResourceState {
  return typeof olds?.name === "string" && olds.name !== "";
}

/**
 * Preview and every update (read-only): in running, the first set-up's refusals and, after a
 * window, a slot of ours left on the source. One line each.
 */
export async function precheckPresyncResource(
  news: PresyncResourceInputs,
  olds: Partial<PresyncResourceInputs>,
): Promise<string[]> {
  if (news.phase !== "running") return [];
  if (olds.phase === "shutdown") {
    const left = await presyncLeftoverProblem(news);
    return left ? [`refused to start Tines: ${left}`] : [];
  }
  // Set up already, on these servers: nothing to check. A first set-up or a replacement (a new
  // source or target) is checked as `maint db-presync check` would.
  if (olds.sourceUrl === news.sourceUrl && olds.targetUrl === news.targetUrl) return [];
  return (await precheckPresyncGate(news, "start")).problems;
}

/** Whether an update has work: a new phase or trigger (a new source or target replaces it, see presyncDiff). */
export function presyncResourceDiff(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const diff = presyncDiff(olds, news);
  const phaseChanged = typeof news.phase === "string" && olds.phase !== news.phase;
  return { ...diff, changes: diff.changes || phaseChanged };
}

/** Create and update of the presync resource, by phase (see the module's comment). */
export async function applyPresyncResource(
  olds: Partial<PresyncResourceState> | undefined,
  news: PresyncResourceInputs,
  reporter: ProgressReporter,
  options: { signal?: AbortSignal } = {},
): Promise<PresyncResourceState> {
  if (news.phase === "shutdown") {
    if (!isSetUp(olds)) {
      throw new GateError(
        "database-presync: database.migration.presync is true but this stack set up no presync; " +
          "set it up with phase running before the window, or set presync false for a plain migration",
      );
    }
    return { ...olds, ...news };
  }
  if (isSetUp(olds) && olds.phase === "shutdown") {
    const left = await presyncLeftoverProblem(news);
    if (left) throw new GateError(`database-presync: refused to start Tines: ${left}`);
    reporter.info(
      `database-presync: nothing of presync ${olds.name} is left on the source; it is spent (a new one: presync false, then true)`,
    );
    return { ...olds, ...news, ...statusOutputs(await presyncStatus(targets(news))) };
  }
  if (isSetUp(olds) && olds.trigger === news.trigger) return { ...olds, ...news };
  return { ...news, ...(await runPresyncGate(news, reporter, options)) };
}
