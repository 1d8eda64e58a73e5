/**
 * Where a migration's time goes: wall-clock marks for each phase and, for the scheduled
 * work, the seconds each kind of task kept a worker busy (core-seconds, roughly).
 */
export interface PhaseTimes {
  /** Wall seconds from the start of the copy to each mark. */
  marks: Record<string, number>;
  /** Busy seconds summed over workers, per kind of task (copy, index, checksum, analyze, ...). */
  busy: Record<string, number>;
  /**
   * The tasks that finished last, latest first (`kind label start-end`, wall seconds): the
   * tail of the schedule, where the critical path shows.
   */
  tail: string[];
}

/** How many of the last tasks `tail` keeps. */
const TAIL = 8;

export interface PhaseTimer {
  mark(name: string): void;
  /** Time `work` and add it to the busy seconds of `kind`; `label` names it in the tail. */
  busy<T>(kind: string, work: () => Promise<T>, label?: string): Promise<T>;
  elapsed(): number;
  result(): PhaseTimes;
}

export function phaseTimer(): PhaseTimer {
  const start = Date.now();
  const marks: Record<string, number> = {};
  const busy: Record<string, number> = {};
  const finished: Array<{ text: string; end: number }> = [];
  const seconds = () => (Date.now() - start) / 1000;
  return {
    mark: (name) => {
      marks[name] = seconds();
    },
    async busy(kind, work, label) {
      const begun = seconds();
      try {
        return await work();
      } finally {
        const end = seconds();
        busy[kind] = (busy[kind] ?? 0) + (end - begun);
        finished.push({
          text: `${kind}${label ? ` ${label}` : ""} ${begun.toFixed(1)}-${end.toFixed(1)}`,
          end,
        });
        finished.sort((a, b) => b.end - a.end);
        finished.length = Math.min(finished.length, TAIL);
      }
    },
    elapsed: seconds,
    result: () => ({ marks: { ...marks }, busy: { ...busy }, tail: finished.map((f) => f.text) }),
  };
}

/** `schema 0.4s, rows 6.1s, ...; busy: copy 9.8s, index 7.7s` for logs and benches. */
export function formatPhases(times: PhaseTimes): string {
  const marks = Object.entries(times.marks)
    .map(([k, v]) => `${k} at ${v.toFixed(1)}s`)
    .join(", ");
  const busy = Object.entries(times.busy)
    .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
    .join(", ");
  return `${marks}; worker-seconds: ${busy}`;
}
