/** Test helper: the progress a step reports, kept line by line for the test to read. */
import type { ProgressReporter } from "../lib/progress";

/** A reporter that keeps every line it is given, a warning as `warning: <line>`. */
export function recordingReporter(): ProgressReporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (line) => lines.push(line), warn: (line) => lines.push(`warning: ${line}`) };
}
