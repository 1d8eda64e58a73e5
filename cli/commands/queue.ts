/**
 * `maint queue`: the seed's `rails runner "Sidekiq::Queue.all.map ..."` without exec into a
 * container: per queue name, size, latency and paused, plus the scheduled, retry and dead
 * sets and the jobs in flight.
 */
import { readSnapshot, type SidekiqSnapshot } from "../../lib/sidekiq/api";
import { heldFromSnapshot, heldJobsText } from "../../lib/sidekiq/heldJobs";
import { redisUrlFlag } from "../urlFlag";
import { stderrReporter } from "../../lib/progress";
import { namespaceFlag, flagCommand, switchFlags, valueFlags } from "../command";

const usage = "queue --redis-url URL [--namespace NS] [--json]";

export function queueReport(s: SidekiqSnapshot) {
  return {
    queues: s.queues.map(({ name, size, latency, paused }) => ({ name, size, latency, paused })),
    enqueued: s.enqueued,
    scheduled: s.scheduled,
    retries: s.retries,
    dead: s.dead,
    busy: s.busy,
    processes: s.processes,
    nextScheduledAt: s.nextScheduledAt === undefined ? null : new Date(s.nextScheduledAt).toISOString(),
    nextRetryAt: s.nextRetryAt === undefined ? null : new Date(s.nextRetryAt).toISOString(),
    /** The jobs no drain empties, in a sentence (see lib/sidekiq/heldJobs.ts). */
    held: heldJobsText(heldFromSnapshot(s), s.at),
  };
}

export function queueText(s: SidekiqSnapshot): string {
  const rows = [
    ["queue", "size", "latency (s)", "paused"],
    ...s.queues.map((q) => [q.name, String(q.size), q.latency.toFixed(2), q.paused ? "yes" : "no"]),
  ];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  const lines = rows.map((r) =>
    r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join("  "),
  );
  if (s.queues.length === 0) lines.push("(no queues)");
  lines.push(
    `enqueued ${s.enqueued}, scheduled ${s.scheduled}, retries ${s.retries}, dead ${s.dead}, ` +
      `busy ${s.busy} (in ${s.processes} live process${s.processes === 1 ? "" : "es"})`,
  );
  const held = heldFromSnapshot(s);
  if (held.scheduled + held.retries + held.dead > 0) {
    lines.push(
      `not emptied by a drain: ${heldJobsText({ ...held, queued: 0 }, s.at)}; they stay in this Redis ` +
        "(a move to another Redis carries them: maint redis-carry)",
    );
  }
  return lines.join("\n");
}

export const queueCommand = flagCommand({
  name: "queue",
  usage,
  options: { ...valueFlags("redis-url", "namespace"), ...switchFlags("json") },
  async run(flags) {
    const url = redisUrlFlag(flags["redis-url"], stderrReporter);
    const namespace = namespaceFlag(flags.namespace);
    const snapshot = await readSnapshot({ url, namespace }, 0);
    process.stdout.write(`${flags.json ? JSON.stringify(queueReport(snapshot)) : queueText(snapshot)}\n`);
    return 0;
  },
});
