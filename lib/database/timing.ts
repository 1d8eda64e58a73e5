/**
 * Where a migration's time goes: wall-clock marks for each phase and, for the scheduled
 * work, the seconds each kind of task kept a worker busy (core-seconds, roughly).
 */
export interface PhaseTimes {
  /** Wall seconds from the start of the copy to each mark. */
  marks: Record<string, number>;
  /** Busy seconds summed over workers, per kind of task (copy, index, checksum, analyze, ...). */
  busy: Record<string, number>;
}

export interface PhaseTimer {
  mark(name: string): void;
  /** Time `work` and add it to the busy seconds of `kind`. */
  busy<T>(kind: string, work: () => Promise<T>): Promise<T>;
  elapsed(): number;
  result(): PhaseTimes;
}

export function phaseTimer(): PhaseTimer {
  const start = Date.now();
  const marks: Record<string, number> = {};
  const busy: Record<string, number> = {};
  const seconds = () => (Date.now() - start) / 1000;
  return {
    mark: (name) => {
      marks[name] = seconds();
    },
    async busy(kind, work) {
      const begun = Date.now();
      try {
        return await work();
      } finally {
        busy[kind] = (busy[kind] ?? 0) + (Date.now() - begun) / 1000;
      }
    },
    elapsed: seconds,
    result: () => ({ marks: { ...marks }, busy: { ...busy } }),
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
