/**
 * Per-table progress from pg_dump/pg_restore `-v` output: which table started or finished,
 * how much of the data (by on-disk size) is done, and the time left at the rate so far.
 */
import { formatSeconds, type ProgressReporter } from "../progress";

export type PgEvent = { kind: "start" | "done"; table: string };

/**
 * `pg_dump: dumping contents of table "public.t1"`, `pg_restore: processing data for table "public.t1"`
 * start a table; `finished item 3346 TABLE DATA t1` ends it (parallel mode names no schema).
 */
export function parsePgLine(line: string): PgEvent | undefined {
  const start = /(?:dumping contents of table|processing data for table) "([^"]+)"/.exec(line);
  if (start) return { kind: "start", table: start[1] };
  const done = /finished item \d+ TABLE DATA (.+)$/.exec(line);
  if (done) return { kind: "done", table: done[1].trim() };
  return undefined;
}

function bareName(qualified: string): string {
  const dot = qualified.lastIndexOf(".");
  return (dot >= 0 ? qualified.slice(dot + 1) : qualified).replace(/"/g, "");
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export { formatBytes };

export interface TableProgress {
  /** Feed one stderr line of pg_dump/pg_restore -v. */
  line(line: string): void;
  /** One table is done (verification reports this way). */
  finish(name: string): void;
  /** Every started table is done (the tool exited successfully). */
  close(): void;
}

/**
 * Tracks one phase (dump, restore, verify) over a known set of tables and their sizes.
 * A closure rather than a class: Pulumi's function serialization drops class field
 * initializers, and this code runs inside the dynamic providers.
 */
export function tableProgress(
  phase: string,
  sizes: Map<string, number>,
  reporter: ProgressReporter,
  /** One table at a time (pg_dump without -j prints no "finished item"): a start ends the table before. */
  serial = false,
): TableProgress {
  const done = new Set<string>();
  const started = new Map<string, string>();
  const startedAt = Date.now();
  const totalBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  let doneBytes = 0;

  // pg_restore names tables without their schema when it finishes them.
  const resolve = (table: string): string => {
    if (sizes.has(table)) return table;
    const plain = table.replace(/"/g, "");
    for (const name of sizes.keys()) {
      if (name.replace(/"/g, "") === plain || bareName(name) === bareName(plain)) {
        if (!done.has(name)) return name;
      }
    }
    return table;
  };

  const finish = (name: string): void => {
    if (done.has(name)) return;
    done.add(name);
    doneBytes += sizes.get(name) ?? 0;
    const elapsed = (Date.now() - startedAt) / 1000;
    const left =
      doneBytes > 0 && totalBytes > doneBytes
        ? `, ~${formatSeconds((elapsed * (totalBytes - doneBytes)) / doneBytes)} left`
        : "";
    reporter.info(
      `${phase}: table ${name} done (${done.size}/${sizes.size} tables, ` +
        `${formatBytes(doneBytes)} of ${formatBytes(totalBytes)}${left})`,
    );
  };

  const close = (): void => {
    for (const name of started.values()) finish(name);
  };

  return {
    finish,
    close,
    line(line) {
      const event = parsePgLine(line);
      if (!event) return;
      if (event.kind === "start") {
        const name = resolve(event.table);
        if (serial) close();
        started.set(bareName(name), name);
        reporter.info(`${phase}: table ${name} started (${formatBytes(sizes.get(name) ?? 0)})`);
      } else {
        finish(started.get(bareName(event.table)) ?? resolve(event.table));
      }
    },
  };
}
