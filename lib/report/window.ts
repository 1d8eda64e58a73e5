/**
 * A maintenance window as the report draws it: a shutdown update and the running update after
 * it, read from `pulumi stack history --json` and each update's exported deployment. Pure: the
 * CLI command fetches the JSON, this turns it into what the page shows. Secret values in a
 * deployment are replaced by SECRET before anything else reads them.
 */
import { ConfigError } from "../errors";

export const SECRET = "[secret]";
/** The key Pulumi marks a secret value with in a deployment, and that key's value. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const PHASE_KEY = "tines-maintenance:phase";
/** Dynamic resources: `pulumi-nodejs:dynamic:Resource`, or `pulumi-nodejs:dynamic/<module>:<Type>`. */
const isDynamic = (type: string) => type.startsWith("pulumi-nodejs:dynamic");
const STACK_TYPE = "pulumi:pulumi:Stack";

/** One entry of `pulumi stack history --json`. */
export interface HistoryEntry {
  version: number;
  kind: string;
  startTime: string;
  endTime?: string;
  message: string;
  environment?: Record<string, string>;
  config?: Record<string, { value?: string; secret?: boolean }>;
  result?: string;
}

export interface DeploymentResource {
  urn: string;
  type: string;
  /** The resource's name: the last `::` segment of its URN. */
  name: string;
  outputs: Record<string, unknown>;
}

/** What the report reads from one exported deployment, secrets already blanked. */
export interface Deployment {
  stackOutputs: Record<string, unknown>;
  resources: DeploymentResource[];
}

export interface StepTiming {
  name: string;
  kind: "service" | "gate";
  /** What the step did, e.g. "scale to 0" or "gate". */
  action: string;
  startedAt?: string;
  finishedAt?: string;
  /** True when the step did no work in this update: its times are from an earlier one. */
  unchanged: boolean;
}

export interface UpdateView {
  version: number;
  phase: string;
  result: string;
  startTime: string;
  endTime?: string;
  message: string;
  /** Who ran it: the audit's `ranBy`, else what the history environment tells. */
  ranBy: string;
  environment: Record<string, string>;
  steps: StepTiming[];
  services: ServiceRow[];
  audit: Record<string, unknown>;
  /** The gates' own records, by resource name (sidekiq-drain, database-migration, ...). */
  gates: Record<string, Record<string, unknown>>;
}

export interface ServiceRow {
  name: string;
  workloadName?: string;
  previousCount?: number;
  targetCount?: number;
  reachedCount?: number;
}

export interface SidekiqSample {
  at: string;
  pending: number;
  busy: number;
}

export interface Downtime {
  from?: string;
  until?: string;
  /** What `until` is: Tines' health check, or only the last service reported ready. */
  untilSource: "tines-healthy" | "last-service-ready" | "open";
  seconds?: number;
}

export interface WindowView {
  stack: string;
  shutdown: UpdateView;
  startup?: UpdateView;
  downtime: Downtime;
  preflightSamples: SidekiqSample[];
  drainSamples: SidekiqSample[];
  backup?: { location?: string; bytes?: number; sha256?: string };
  migration?: Record<string, unknown>;
  /**
   * The jobs no drain empties (scheduled, retries, dead) as the drain gate (or the pre-flight)
   * last counted them, and what became of them at a Redis move: the `sidekiq-carry` gate's record.
   */
  sidekiqHeld?: { summary: string; from: "sidekiq-drain" | "sidekiq-preflight" };
  sidekiqCarry?: SidekiqCarryView;
  endpoints?: {
    databaseBefore?: string;
    databaseAfter?: string;
    redisBefore?: string;
    redisAfter?: string;
    switchedAt?: string;
  };
}

/** Entries per kind, as the carry gate records them. */
export interface EntryCountsView {
  scheduled: number;
  retries: number;
  dead: number;
  queued: number;
}

/** The `sidekiq-carry` gate's record, as the report shows it. */
export interface SidekiqCarryView {
  outcome: string;
  summary: string;
  mode?: string;
  from?: string;
  to?: string;
  held?: EntryCountsView & { nextScheduledAt?: string; nextRetryAt?: string };
  carried?: EntryCountsView;
  leftBehind?: EntryCountsView;
  method?: string;
  seconds?: number;
  warnings: string[];
  finishedAt?: string;
}

/** Any value with secrets replaced by SECRET, recursively. */
export function blankSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(blankSecrets);
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SECRET_SIG_KEY] === SECRET_SIG) return SECRET;
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, blankSecrets(v)]));
  }
  return value;
}

/**
 * A deployment as `pulumi stack export` prints it (`{version, deployment}`) or as a file
 * backend keeps it in its history (`{version, checkpoint: {latest}}`).
 */
export function parseDeployment(json: unknown): Deployment {
  const root = json as {
    deployment?: { resources?: unknown[] };
    checkpoint?: { latest?: { resources?: unknown[] } };
  };
  const raw = root.deployment?.resources ?? root.checkpoint?.latest?.resources ?? [];
  const resources = raw.map((r) => {
    const resource = r as { urn: string; type: string; outputs?: Record<string, unknown> };
    return {
      urn: resource.urn,
      type: resource.type,
      name: resource.urn.slice(resource.urn.lastIndexOf("::") + 2),
      outputs: blankSecrets(resource.outputs ?? {}) as Record<string, unknown>,
    };
  });
  const stack = resources.find((r) => r.type === STACK_TYPE);
  return { stackOutputs: stack?.outputs ?? {}, resources };
}

/**
 * History as `pulumi stack history --json` prints it, newest first. A file backend reports
 * every version as 0: then updates are numbered by position, oldest = 1, as Pulumi Cloud does.
 */
export function numberHistory(history: HistoryEntry[]): { history: HistoryEntry[]; renumbered: boolean } {
  const versions = new Set(history.map((h) => h.version));
  if (versions.size === history.length && !versions.has(0)) return { history, renumbered: false };
  return { history: history.map((h, i) => ({ ...h, version: history.length - i })), renumbered: true };
}

export function phaseOf(entry: HistoryEntry): string | undefined {
  return entry.config?.[PHASE_KEY]?.value;
}

/**
 * Windows in the history: each running update with the shutdown update before it (the last
 * attempt, if a shutdown was run more than once). A shutdown with no running update after it
 * yet is an open window.
 */
export function findWindows(
  history: HistoryEntry[],
): Array<{ shutdown: HistoryEntry; startup?: HistoryEntry }> {
  const updates = history.filter((h) => h.kind === "update").sort((a, b) => a.version - b.version);
  const windows: Array<{ shutdown: HistoryEntry; startup?: HistoryEntry }> = [];
  let shutdown: HistoryEntry | undefined;
  for (const update of updates) {
    const phase = phaseOf(update);
    if (phase === "shutdown") shutdown = update;
    else if (phase === "running" && shutdown) {
      windows.push({ shutdown, startup: update });
      shutdown = undefined;
    }
  }
  if (shutdown) windows.push({ shutdown });
  return windows;
}

/** The window whose shutdown is update `version`, or the latest. */
export function selectWindow(
  history: HistoryEntry[],
  version?: number,
): { shutdown: HistoryEntry; startup?: HistoryEntry } {
  const windows = findWindows(history);
  if (windows.length === 0) {
    throw new ConfigError(
      "no maintenance window in this stack's history: it needs an update with phase shutdown",
    );
  }
  if (version === undefined) return windows[windows.length - 1];
  const found = windows.find((w) => w.shutdown.version === version);
  if (!found) {
    const allowed = windows.map((w) => w.shutdown.version).join(", ");
    throw new ConfigError(`--window ${version}: no shutdown update with that version; allowed: ${allowed}`);
  }
  return found;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function ranBy(entry: HistoryEntry, audit: Record<string, unknown>): string {
  const env = entry.environment ?? {};
  const parts = [str(audit.ranBy)];
  if (env["ci.system"])
    parts.push(`CI ${env["ci.system"]}${env["ci.build.id"] ? ` build ${env["ci.build.id"]}` : ""}`);
  if (!parts[0] && env["git.committer"]) parts.push(`git HEAD committer ${env["git.committer"]}`);
  return parts.filter(Boolean).join(", ") || "not recorded";
}

/** One update: its steps in the order the program ran them, with their times. */
export function updateView(entry: HistoryEntry, deployment: Deployment): UpdateView {
  const outputs = deployment.stackOutputs;
  const audit = rec(outputs.audit);
  const services = (Array.isArray(outputs.services) ? outputs.services : []).map((s) => {
    const row = rec(s);
    return {
      name: str(row.name) ?? "?",
      workloadName: str(row.workloadName),
      previousCount: num(row.previousCount),
      targetCount: num(row.targetCount),
      reachedCount: num(row.reachedCount),
    };
  });
  const serviceNames = new Map(services.map((s) => [s.name, s]));
  const dynamic = deployment.resources.filter((r) => isDynamic(r.type));
  // History times are whole seconds; a step that began before its update did not run in it.
  const updateStart = Date.parse(entry.startTime) - 1000;
  const stepNames = Array.isArray(outputs.steps) ? outputs.steps.map(String) : [];
  const steps = stepNames.map((name): StepTiming => {
    const resource = dynamic.find((r) => r.name === name || r.name === `${name}-rollout`);
    const startedAt = str(resource?.outputs.startedAt);
    const finishedAt = str(resource?.outputs.finishedAt);
    const service = serviceNames.get(name);
    return {
      name,
      kind: service ? "service" : "gate",
      action: service ? `scale to ${service.targetCount ?? "?"}` : "gate",
      startedAt,
      finishedAt,
      unchanged: startedAt === undefined || Date.parse(startedAt) < updateStart,
    };
  });
  const gates = Object.fromEntries(
    dynamic.filter((r) => !serviceNames.has(r.name)).map((r) => [r.name, r.outputs]),
  );
  return {
    version: entry.version,
    phase: phaseOf(entry) ?? "?",
    result: entry.result ?? "?",
    startTime: entry.startTime,
    endTime: entry.endTime,
    message: entry.message,
    ranBy: ranBy(entry, audit),
    environment: entry.environment ?? {},
    steps,
    services,
    audit,
    gates,
  };
}

/** The first `healthyAt`-like time anywhere in the audit (the startup health gate's record). */
function healthyAt(audit: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(audit)) {
    if (/^healthy(At)?$/i.test(key) && typeof value === "string") return value;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const nested = healthyAt(value as Record<string, unknown>);
      if (nested) return nested;
    }
  }
  return undefined;
}

function samples(gate: unknown): SidekiqSample[] {
  const list = rec(gate).samples;
  if (!Array.isArray(list)) return [];
  return list.map((s) => {
    const sample = rec(s);
    return { at: str(sample.at) ?? "", pending: num(sample.pending) ?? 0, busy: num(sample.busy) ?? 0 };
  });
}

function entryCounts(value: unknown): EntryCountsView | undefined {
  const r = rec(value);
  if (Object.keys(r).length === 0) return undefined;
  return {
    scheduled: num(r.scheduled) ?? 0,
    retries: num(r.retries) ?? 0,
    dead: num(r.dead) ?? 0,
    queued: num(r.queued) ?? 0,
  };
}

/** The carry gate's record: the gate resource's outputs, else the audit's `sidekiqCarry`. */
function carryView(update: UpdateView): SidekiqCarryView | undefined {
  const record = update.gates["sidekiq-carry"] ?? rec(update.audit.sidekiqCarry);
  if (typeof record.outcome !== "string") return undefined;
  const held = entryCounts(record.held);
  const heldRecord = rec(record.held);
  return {
    outcome: record.outcome,
    summary: str(record.summary) ?? "",
    mode: str(record.mode),
    from: str(record.from),
    to: str(record.to),
    held: held && {
      ...held,
      nextScheduledAt: str(heldRecord.nextScheduledAt),
      nextRetryAt: str(heldRecord.nextRetryAt),
    },
    carried: entryCounts(record.carried),
    leftBehind: entryCounts(record.leftBehind),
    method: str(record.method),
    seconds: num(rec(record.seconds).total),
    warnings: Array.isArray(record.warnings) ? record.warnings.map(String) : [],
    finishedAt: str(record.finishedAt),
  };
}

function heldView(audit: Record<string, unknown>): WindowView["sidekiqHeld"] {
  for (const from of ["sidekiq-drain", "sidekiq-preflight"] as const) {
    const gate = rec(audit[from === "sidekiq-drain" ? "sidekiqDrain" : "sidekiqPreflight"]);
    const summary = str(rec(gate.held).summary);
    if (summary) return { summary, from };
  }
  return undefined;
}

export function windowView(stack: string, shutdown: UpdateView, startup?: UpdateView): WindowView {
  const firstStop = shutdown.steps.find(
    (s) => s.kind === "service" && !s.unchanged && s.action === "scale to 0",
  );
  // The health gate's record where the program has one (audit.tinesHealth), else any healthyAt.
  const health = startup
    ? (str(rec(startup.audit.tinesHealth).healthyAt) ?? healthyAt(startup.audit))
    : undefined;
  const lastStart = startup?.steps.filter((s) => s.kind === "service" && !s.unchanged).pop();
  const until = health ?? lastStart?.finishedAt;
  const untilSource: Downtime["untilSource"] = health
    ? "tines-healthy"
    : lastStart?.finishedAt
      ? "last-service-ready"
      : "open";
  // The window record's first stop where the program keeps one (audit.window), else the first bar.
  const from = str(rec(shutdown.audit.window).firstStopAt) ?? firstStop?.startedAt;
  const seconds = from && until ? (Date.parse(until) - Date.parse(from)) / 1000 : undefined;

  const backup = rec(shutdown.audit.databaseBackup);
  const endpointSwitch = rec(shutdown.audit.endpointSwitch);
  const migration = shutdown.gates["database-migration"] ?? rec(shutdown.audit.databaseMigration);
  return {
    stack,
    shutdown,
    startup,
    downtime: { from, until, untilSource, seconds },
    preflightSamples: samples(shutdown.audit.sidekiqPreflight),
    drainSamples: samples(shutdown.audit.sidekiqDrain),
    backup: Object.keys(backup).length
      ? { location: str(backup.location), bytes: num(backup.bytes), sha256: str(backup.sha256) }
      : undefined,
    migration: Object.keys(migration).length ? migration : undefined,
    sidekiqHeld: heldView(shutdown.audit),
    sidekiqCarry: carryView(shutdown),
    endpoints:
      Object.keys(endpointSwitch).length > 0
        ? {
            databaseBefore: str(endpointSwitch.previousDatabaseHost),
            databaseAfter: str(endpointSwitch.databaseHost),
            redisBefore: str(endpointSwitch.previousRedisHost),
            redisAfter: str(endpointSwitch.redisHost),
            switchedAt: switchedAtText(endpointSwitch.switchedAt),
          }
        : undefined,
  };
}

function switchedAtText(value: unknown): string | undefined {
  if (typeof value === "number" && value > 0) return new Date(value).toISOString();
  return str(value);
}
