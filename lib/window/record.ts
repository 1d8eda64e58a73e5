/**
 * The record of a maintenance window: one shutdown (and its retries) and the startup after
 * it. It is the one piece of state that lives through both phases and from one window to the
 * next, so it carries what a later update must know and cannot find in its own config:
 *  - the Tines images at shutdown, so that the startup refuses one that changed (version guard);
 *  - when the first service was stopped, so that the startup can close the downtime record;
 *  - the endpoints the last switch moved Tines to, so that a later window whose
 *    `sidekiq.redisUrl` / `database.url` still point at the old servers is refused;
 *  - the window in which `database.migration.allowNonEmptyTarget` was set, so that it never
 *    carries into the next one.
 * Pure: reading the live images is the caller's; every refusal is a GateError naming the key.
 */
import { GateError } from "../errors";
import type { Phase } from "../plan/services";

/** The Tines images (or ECS task definition revisions) by service key. */
export type WorkloadVersions = Record<string, string>;

/** Where the last endpoint switch moved Tines: host names, ports and Redis database, no secret. */
export interface SwitchedEndpoints {
  /** When the switch wrote them (ms since epoch). */
  switchedAt: number;
  databaseHost?: string;
  databasePort?: number;
  /** `host:port/db` of REDIS_URL. */
  redisAddress?: string;
}

/** The record as kept in state (the window resource's outputs). */
export interface WindowRecord {
  /** The phase of the update that wrote the record. */
  phase: Phase;
  /** ISO time of the first shutdown update of this window; identifies the window. */
  windowStartedAt: string;
  /** ISO time at which the first service of this window was sent its stop. */
  firstStopAt?: string;
  /** Recorded at the window's first shutdown; the startup compares with these. */
  images: WorkloadVersions;
  /** Set when the startup went ahead with changed images because of the override. */
  versionOverride?: { changes: string[]; at: string };
  lastSwitch?: SwitchedEndpoints;
  /** windowStartedAt of the window for which allowNonEmptyTarget was set. */
  allowNonEmptyTargetWindow?: string;
}

/** The connection settings a shutdown's gates use (secrets; never kept in the record). */
export interface WindowSettings {
  sidekiqRedisUrl?: string;
  databaseUrl?: string;
  migrationTargetUrl?: string;
  allowNonEmptyTarget?: boolean;
}

/** In a running update: the endpoint switch's record and the endpoints config it applied. */
export interface SwitchInput {
  switchedAt?: number;
  databaseHost?: string;
  databasePort?: number;
  /** Secret; only its address is kept. */
  redisUrl?: string;
}

export interface WindowInputs {
  phase: Phase;
  /** `versionGuard.allowChange`: start even though an image changed during the window. */
  allowVersionChange: boolean;
  settings: WindowSettings;
  switched?: SwitchInput;
}

export interface WindowAssessment {
  record: WindowRecord;
  /** For the operator, through Pulumi's log. */
  warnings: string[];
}

const PREFIX = "tines-maintenance:";

/** `host:port/db` of a redis:// URL, credentials left out. */
export function redisAddress(url: string): string {
  const parsed = new URL(url);
  const db = Number(parsed.pathname.replace(/^\//, "") || "0");
  return `${parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase()}:${parsed.port || "6379"}/${db}`;
}

/** Host and port of a postgresql:// URL. */
export function databaseAddress(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase(), port: Number(parsed.port || "5432") };
}

function when(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Settings that still point where Tines was before the last endpoint switch. With them the
 * drain gate would sample a Redis that may be empty while jobs wait in the new one, the backup
 * would dump a database nobody writes to, and a migration would restore over the live one.
 */
export function staleSettings(lastSwitch: SwitchedEndpoints | undefined, settings: WindowSettings): string[] {
  if (!lastSwitch) return [];
  const problems: string[] = [];
  const since = `the endpoint switch of ${when(lastSwitch.switchedAt)}`;
  if (lastSwitch.redisAddress && settings.sidekiqRedisUrl) {
    const configured = redisAddress(settings.sidekiqRedisUrl);
    if (configured !== lastSwitch.redisAddress) {
      problems.push(
        `${PREFIX}sidekiq.redisUrl: points at Redis ${configured}, but ${since} moved Tines to ${lastSwitch.redisAddress}; ` +
          "the drain gate would sample a Redis Tines no longer uses: set it to the REDIS_URL Tines uses now",
      );
    }
  }
  if (lastSwitch.databaseHost) {
    const live = {
      host: lastSwitch.databaseHost.toLowerCase(),
      port: lastSwitch.databasePort,
    };
    const liveText = `${live.host}${live.port ? `:${live.port}` : ""}`;
    const isLive = (address: { host: string; port: number }) =>
      address.host === live.host && (live.port === undefined || address.port === live.port);
    if (settings.databaseUrl) {
      const configured = databaseAddress(settings.databaseUrl);
      if (!isLive(configured)) {
        problems.push(
          `${PREFIX}database.url: points at ${configured.host}:${configured.port}, but ${since} moved Tines to ${liveText}; ` +
            "the backup would dump a database Tines no longer writes to: set it to the database Tines uses now",
        );
      }
    }
    if (settings.migrationTargetUrl && isLive(databaseAddress(settings.migrationTargetUrl))) {
      problems.push(
        `${PREFIX}database.migration.targetUrl: ${liveText} is the database Tines has used since ${since}: ` +
          "it was migrated to and switched to already; remove database.migration (a new migration needs a new, empty instance)",
      );
    }
  }
  return problems;
}

/** `service: before -> after` for every recorded service whose version is now different. */
export function versionChanges(recorded: WorkloadVersions, current: WorkloadVersions): string[] {
  return Object.keys(recorded)
    .filter((key) => key in current && current[key] !== recorded[key])
    .sort()
    .map((key) => `${key}: ${recorded[key]} -> ${current[key]}`);
}

function refuse(problems: string[]): GateError {
  return new GateError(`maintenance-window: refused, nothing was changed: ${problems.join("; ")}`);
}

/**
 * The record this update writes, or a GateError when the update must not go on. `previous`
 * is the record in state (undefined on the first update of the stack); `current` the live
 * images, read just now; `now` in ms.
 */
export function assessWindow(
  previous: WindowRecord | undefined,
  inputs: WindowInputs,
  current: WorkloadVersions,
  now: number,
): WindowAssessment {
  return inputs.phase === "shutdown"
    ? assessShutdown(previous, inputs, current, now)
    : assessStartup(previous, inputs, current, now);
}

function assessShutdown(
  previous: WindowRecord | undefined,
  inputs: WindowInputs,
  current: WorkloadVersions,
  now: number,
): WindowAssessment {
  // A retried shutdown belongs to the window its first attempt opened.
  const sameWindow = previous?.phase === "shutdown";
  const windowStartedAt = sameWindow ? previous.windowStartedAt : when(now);
  const problems = staleSettings(previous?.lastSwitch, inputs.settings);
  const allow = inputs.settings.allowNonEmptyTarget === true;
  const allowedFor = previous?.allowNonEmptyTargetWindow;
  if (allow && allowedFor !== undefined && allowedFor !== windowStartedAt) {
    problems.push(
      `${PREFIX}database.migration.allowNonEmptyTarget: was set for the window that started ${allowedFor} and never ` +
        "carries into a later one; remove it (`pulumi config rm --path database.migration.allowNonEmptyTarget`) and run again",
    );
  }
  if (problems.length > 0) throw refuse(problems);
  return {
    record: {
      phase: "shutdown",
      windowStartedAt,
      firstStopAt: (sameWindow ? previous.firstStopAt : undefined) ?? when(now),
      // The earliest record of the window is the one the startup must match.
      images: sameWindow ? { ...current, ...previous.images } : current,
      ...(previous?.lastSwitch ? { lastSwitch: previous.lastSwitch } : {}),
      ...(allow ? { allowNonEmptyTargetWindow: windowStartedAt } : {}),
    },
    warnings: [],
  };
}

function assessStartup(
  previous: WindowRecord | undefined,
  inputs: WindowInputs,
  current: WorkloadVersions,
  now: number,
): WindowAssessment {
  const warnings: string[] = [];
  // Only the first startup after a shutdown closes a window; a later running update compares
  // with nothing, because upgrades between windows are the operator's normal business.
  const closing = previous?.phase === "shutdown";
  const changes = closing ? versionChanges(previous.images, current) : [];
  // A retried startup keeps the override its first attempt recorded: it is this window's audit.
  let versionOverride: WindowRecord["versionOverride"] = closing ? undefined : previous?.versionOverride;
  if (changes.length > 0) {
    if (!inputs.allowVersionChange) {
      throw new GateError(
        `maintenance-window: refused to start anything: Tines changed during the window (${changes.join("; ")}); ` +
          "the runbook says not to upgrade Tines during infrastructure maintenance. Put the recorded version back, or " +
          "set `pulumi config set --path versionGuard.allowChange true` to start it anyway (recorded in the audit)",
      );
    }
    versionOverride = { changes, at: when(now) };
    warnings.push(
      `maintenance-window: starting with versions changed during the window because versionGuard.allowChange is true: ${changes.join("; ")}`,
    );
  }
  const switched = inputs.switched;
  const lastSwitch: SwitchedEndpoints | undefined =
    switched?.switchedAt !== undefined
      ? {
          switchedAt: switched.switchedAt,
          ...(switched.databaseHost !== undefined
            ? { databaseHost: switched.databaseHost, databasePort: switched.databasePort }
            : {}),
          ...(switched.redisUrl !== undefined ? { redisAddress: redisAddress(switched.redisUrl) } : {}),
        }
      : previous?.lastSwitch;
  const allowStillSet = inputs.settings.allowNonEmptyTarget === true;
  if (allowStillSet) {
    warnings.push(
      "database.migration.allowNonEmptyTarget is still set: remove it now; the next window refuses to start while it is set",
    );
  }
  return {
    record: {
      phase: "running",
      windowStartedAt: previous?.windowStartedAt ?? when(now),
      // Kept through later running updates: the downtime record of the last window stays readable.
      ...(previous?.firstStopAt ? { firstStopAt: previous.firstStopAt } : {}),
      // The versions of the window: recorded at its shutdown, kept until the next one.
      images: previous?.images ?? current,
      ...(versionOverride ? { versionOverride } : {}),
      ...(lastSwitch ? { lastSwitch } : {}),
      ...(allowStillSet && previous?.allowNonEmptyTargetWindow
        ? { allowNonEmptyTargetWindow: previous.allowNonEmptyTargetWindow }
        : {}),
    },
    warnings,
  };
}
