/**
 * One database operation (a migration, a backup) that an abort signal can stop at any point:
 * the engine died (a SIGKILLed `pulumi up`) or the update was cancelled (Ctrl-C). Every
 * session the operation opens (session.ts `connect`) and every pg_dump/pg_restore it starts
 * (pgTools.ts) carries the operation's tag as its `application_name`. On abort it:
 *  1. stops its pg_dump/pg_restore children;
 *  2. closes every session it opened, which fails whatever query or COPY is running;
 *  3. terminates, from a new session on each server, whatever server process still carries
 *     the tag: a backend busy in CREATE INDEX or a checksum does not notice a closed socket
 *     until it is done, and pg_terminate_backend is allowed on one's own sessions;
 * and the operation's own `finally` blocks remove its files (cleanup.ts). Nothing of it is
 * left running on either server within a few seconds.
 *
 * The current operation is found through AsyncLocalStorage, so the many places that connect
 * need no extra argument. Its store lives on `globalThis`: inside a Pulumi dynamic provider
 * each serialized closure carries its own copy of this module, and a captured class instance
 * would not survive serialization.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { AsyncLocalStorage } from "node:async_hooks";
import type { Client } from "pg";
import { abortReason, withDeadline } from "../deadline";
import { MaintenanceError, oneLine } from "../errors";
import { pgClientConfig, withDatabase, type PgTarget } from "./connection";

export interface Operation {
  /** `application_name` of every session and tool of the operation. */
  tag: string;
  signal?: AbortSignal;
  clients: Set<Client>;
  children: Set<ChildProcess>;
}

/** How long the clean-up of an aborted operation may take on each server. */
const CLEANUP_TIMEOUT_MS = 5_000;

function storage(): AsyncLocalStorage<Operation> {
  const key = Symbol.for("tines-maintenance.databaseOperation");
  const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<Operation> | undefined>;
  if (!holder[key]) {
    const { AsyncLocalStorage: Storage } = require("node:async_hooks") as typeof import("node:async_hooks");
    holder[key] = new Storage<Operation>();
  }
  return holder[key]!;
}

/** The operation the caller runs in, if any. */
export function currentOperation(): Operation | undefined {
  return storage().getStore();
}

/** Throws the abort as a one-line error if the current operation has been stopped. */
export function throwIfStopped(what: string): void {
  const signal = currentOperation()?.signal;
  if (signal?.aborted) throw new MaintenanceError(`${what}: stopped, ${abortReason(signal)}`);
}

/** Runs `work` outside any operation: a clean-up that must connect after the abort. */
export function outsideOperation<T>(work: () => T): T {
  return storage().exit(work);
}

/**
 * Ends, on `server`, every session tagged `tag` (not this one). Returns how many it ended.
 * Bounded: a server that does not answer is left to its own timeouts.
 */
export async function terminateTagged(server: PgTarget, tag: string): Promise<number> {
  try {
    return await terminateTaggedIn(withDatabase(server, "postgres"), tag);
  } catch (error) {
    // No `postgres` database on that server: its own database serves as well.
    if ((error as { code?: string }).code !== "3D000") throw error;
    return terminateTaggedIn(server, tag);
  }
}

async function terminateTaggedIn(server: PgTarget, tag: string): Promise<number> {
  const { Client: PgClient } = require("pg") as typeof import("pg");
  const admin = new PgClient({ ...pgClientConfig(server), connectionTimeoutMillis: CLEANUP_TIMEOUT_MS });
  admin.on("error", () => undefined);
  const work = (async () => {
    await admin.connect();
    const { rows } = await admin.query<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
        WHERE application_name = $1 AND pid <> pg_backend_pid()`,
      [tag],
    );
    return Number(rows[0].n);
  })();
  try {
    return await withDeadline(work, CLEANUP_TIMEOUT_MS, {
      onTimeout: () => new MaintenanceError(`no answer within ${CLEANUP_TIMEOUT_MS / 1000}s`),
    });
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function stopEverything(operation: Operation): void {
  for (const child of operation.children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
  for (const client of operation.clients) {
    // end() would wait behind the running query; the socket goes now.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    client.end().catch(() => undefined);
  }
}

export interface OperationOptions {
  /** Part of the tag, e.g. `db-migrate`. */
  name: string;
  /** The servers the operation works on: an abort ends its sessions on each. */
  servers: PgTarget[];
  signal?: AbortSignal;
  /** Told what the abort ended on each server. */
  report?: (line: string) => void;
}

/**
 * Runs `work` as one operation. On abort it stops it as described above and rejects with
 * the abort's reason, once `work` has settled (its `finally` blocks have removed its files).
 */
export async function runOperation<T>(options: OperationOptions, work: () => Promise<T>): Promise<T> {
  const { signal } = options;
  const what = options.name;
  if (signal?.aborted) throw new MaintenanceError(`${what}: not started, ${abortReason(signal)}`);
  const operation: Operation = {
    tag: `tines-maintenance ${options.name} ${randomBytes(6).toString("hex")}`,
    signal,
    clients: new Set(),
    children: new Set(),
  };
  let stopped: () => void = () => undefined;
  // Settles (as a rejection) a while after an abort, should `work` not settle by itself.
  const abandoned = new Promise<never>((_, reject) => {
    stopped = () =>
      setTimeout(
        () => reject(new MaintenanceError("did not stop by itself")),
        2 * CLEANUP_TIMEOUT_MS,
      ).unref();
  });
  abandoned.catch(() => undefined);
  const onAbort = () => {
    stopEverything(operation);
    stopped();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await Promise.race([storage().run(operation, work), abandoned]);
  } catch (error) {
    if (!signal?.aborted) throw error;
    throw new MaintenanceError(`${what}: stopped, ${abortReason(signal)} (${oneLine(error)})`);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (signal?.aborted) {
      stopEverything(operation);
      // Each server once (databases of one server share its sessions view).
      const servers = new Map(options.servers.map((s) => [`${s.host}:${s.port}`, s]));
      const ended = await Promise.allSettled(
        [...servers.values()].map((server) => outsideOperation(() => terminateTagged(server, operation.tag))),
      );
      ended.forEach((result, i) => {
        const server = [...servers.keys()][i];
        if (result.status === "fulfilled" && result.value > 0)
          options.report?.(`${what}: ended ${result.value} session(s) of this run on ${server}`);
        if (result.status === "rejected")
          options.report?.(
            `${what}: could not end this run's sessions on ${server}: ${oneLine(result.reason)}`,
          );
      });
    }
  }
}
