/**
 * Stopping database work promptly on an AbortSignal (a Ctrl-C, the engine gone). Work in
 * flight is a query on a server or a pg_dump/pg_restore child, none of which a signal in this
 * process reaches: so every session and child tool of one run carries the run's own
 * `application_name`, and an abort ends them on the servers (`pg_terminate_backend`). Their
 * queries fail at once, the work throws, and the caller's clean-up runs on fresh sessions.
 */
import { randomBytes } from "node:crypto";
import { MaintenanceError } from "../errors";
import type { PgTarget } from "./connection";
import { connect } from "./session";

/**
 * Thrown instead of whatever the ended sessions reported. A MaintenanceError with a flag, not
 * a subclass: inside a serialized provider `instanceof` cannot be trusted (see errors.ts).
 */
export function abortedError(what: string): MaintenanceError & { aborted: true } {
  return Object.assign(new MaintenanceError(`${what}: interrupted`), { aborted: true as const });
}

export function isAborted(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { aborted?: unknown }).aborted === true;
}

/** A new `application_name` for one run: `tines-maintenance <what> <random>`. */
export function runTag(what: string): string {
  return `tines-maintenance ${what} ${randomBytes(4).toString("hex")}`.slice(0, 63);
}

export function tagged(target: PgTarget, tag: string): PgTarget {
  return { ...target, applicationName: tag };
}

/** End every session of `tag` on `server` (ours: the same role may end them). */
export async function endSessions(server: PgTarget, tag: string): Promise<number> {
  const client = await connect({ ...server, applicationName: `${tag} stop`.slice(0, 63) }, "server");
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text AS n
         FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [tag],
    );
    return Number(rows[0].n);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Run `work`; on abort, end the run's sessions on `servers` (again every 250 ms, for sessions
 * opened meanwhile) until `work` settles, then throw abortedError(`what`). Without a signal,
 * just `work()`.
 */
export async function abortable<T>(
  signal: AbortSignal | undefined,
  servers: PgTarget[],
  tag: string,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  if (!signal) return work();
  if (signal.aborted) throw abortedError(what);
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  // The round of endSessions in flight: its own session must be gone before the caller goes on.
  let stopping: Promise<unknown> = Promise.resolve();
  const stopAll = () => {
    if (settled) return;
    stopping = Promise.allSettled(servers.map((server) => endSessions(server, tag))).then(() => {
      if (!settled) timer = setTimeout(stopAll, 250);
    });
  };
  signal.addEventListener("abort", stopAll, { once: true });
  try {
    const result = await work();
    if (signal.aborted) throw abortedError(what);
    return result;
  } catch (error) {
    if (signal.aborted && !isAborted(error)) throw abortedError(what);
    throw error;
  } finally {
    settled = true;
    if (timer) clearTimeout(timer);
    signal.removeEventListener("abort", stopAll);
    await stopping;
  }
}

/** Throw abortedError if `signal` has fired: between steps of work that is not a single query. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(what);
}
