/**
 * Waiting until a presync's subscriber has applied everything the source wrote up to a WAL
 * position: the slot's `confirmed_flush_lsn` reaches it (the subscriber confirms a position
 * once every transaction committed before it is applied and flushed, or, idle, once it has
 * received it). Progress once a second: bytes behind, the rate they shrink at, the time left.
 */
import type { Client } from "pg";
import { MaintenanceError } from "../errors";
import type { Clock, ProgressReporter } from "../progress";
import { throwIfAborted } from "./abort";
import { formatLagSeconds, readSubscription } from "./presyncStatus";
import { formatBytes } from "./progress";

export interface CatchUp {
  caughtUp: boolean;
  /** Bytes still behind `lsn` (0 when caught up). */
  behind: number;
  seconds: number;
}

/**
 * Poll every 50 ms until caught up with `lsn`, or `timeoutMs` passed (then `caughtUp` false:
 * the caller decides whether that fails). Fails at once when the slot is gone, or when the
 * apply worker stopped with new errors (a change the target cannot apply never will be).
 */
export async function waitForApplied(
  source: Client,
  target: Client,
  name: string,
  lsn: string,
  options: {
    step: string;
    timeoutMs: number;
    signal?: AbortSignal;
    clock: Clock;
    reporter: ProgressReporter;
  },
): Promise<CatchUp> {
  const { clock, reporter, step } = options;
  const started = clock.now();
  let lastReport = started;
  let last: { at: number; behind: number } | undefined;
  let rate = 0;
  let errorsAtStart: number | undefined;
  let lastWorkerCheck = -Infinity;
  for (;;) {
    throwIfAborted(options.signal, step);
    const { rows } = await source.query<{ behind: string | null }>(
      "SELECT pg_wal_lsn_diff($2::pg_lsn, confirmed_flush_lsn)::bigint::text AS behind FROM pg_replication_slots WHERE slot_name = $1",
      [name, lsn],
    );
    if (rows.length === 0) {
      throw new MaintenanceError(
        `${step}: the replication slot ${name} disappeared from the source while catching up`,
      );
    }
    const behind = Math.max(0, Number(rows[0].behind ?? 0));
    const now = clock.now();
    const seconds = (now - started) / 1000;
    if (behind === 0) {
      reporter.info(`${step}: caught up with the source's WAL position ${lsn} after ${seconds.toFixed(1)} s`);
      return { caughtUp: true, behind, seconds };
    }
    if (last && now > last.at) {
      const measured = Math.max(0, ((last.behind - behind) * 1000) / (now - last.at));
      rate = rate === 0 ? measured : 0.7 * rate + 0.3 * measured;
    }
    last = { at: now, behind };
    if (now - lastWorkerCheck > 1000) {
      lastWorkerCheck = now;
      const worker = await readSubscription(target, name);
      errorsAtStart ??= worker.applyErrors;
      if (!worker.workerRunning && worker.applyErrors > errorsAtStart) {
        throw new MaintenanceError(
          `${step}: the subscription's apply worker stopped with ${worker.applyErrors - errorsAtStart} new apply errors, ${formatBytes(behind)} behind; see the target server's log (a change on the source the target cannot apply, e.g. DDL)`,
        );
      }
    }
    if (now - lastReport >= 1000 || lastReport === started) {
      lastReport = now;
      const left = rate > 0 ? `, ~${formatLagSeconds(behind / rate)} left at ${formatBytes(rate)}/s` : "";
      reporter.info(
        `${step}: catching up with the source's WAL position ${lsn}: ${formatBytes(behind)} behind${left} (waited ${seconds.toFixed(1)} s of ${Math.round(options.timeoutMs / 1000)} s)`,
      );
    }
    if (now - started > options.timeoutMs) return { caughtUp: false, behind, seconds };
    await clock.sleep(50, options.signal);
  }
}
