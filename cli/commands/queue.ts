/**
 * `maint queue`: the seed's `rails runner "Sidekiq::Queue.all.map ..."` without exec into a
 * container: per queue name, size, latency and paused, plus the scheduled, retry and dead
 * sets and the jobs in flight.
 */
import { readSnapshot, type SidekiqSnapshot } from "../../lib/sidekiq/api";
import { redisUrlFlag } from "../urlFlag";
import { stderrReporter } from "../../lib/progress";
import { namespaceFlag, parseFlags, type CliCommand } from "../command";

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
  return lines.join("\n");
}

export const queueCommand: CliCommand = {
  name: "queue",
  usage,
  async run(args) {
    const flags = parseFlags(
      args,
      { "redis-url": { type: "string" }, namespace: { type: "string" }, json: { type: "boolean" } },
      usage,
    );
    const url = redisUrlFlag(flags["redis-url"], stderrReporter);
    const namespace = namespaceFlag(flags.namespace);
    const snapshot = await readSnapshot({ url, namespace }, 0);
    process.stdout.write(`${flags.json ? JSON.stringify(queueReport(snapshot)) : queueText(snapshot)}\n`);
    return 0;
  },
};
