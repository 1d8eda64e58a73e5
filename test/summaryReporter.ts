/**
 * Prints one plain closing line, `vitest: N passed, N failed[, N skipped]`, which CI
 * readers recognise in any language, and before it a `vitest: failed: …` line per failed test
 * (file, name, the error's first line). CI repeats those lines at the very end of its log, since
 * a log read from its tail would otherwise bury a failure under the phases that ended later.
 */
import type { Reporter, TestModule } from "vitest/node";

/** One line per failed test: where it is, its full name, and the first line of its error. */
export function failureLines(testModules: ReadonlyArray<TestModule>): string[] {
  const lines: string[] = [];
  for (const module of testModules) {
    const file = module.relativeModuleId;
    const tests = [...module.children.allTests()];
    for (const test of tests) {
      const result = test.result();
      if (result.state !== "failed") continue;
      lines.push(`vitest: failed: ${file} > ${test.fullName}: ${firstLine(result.errors?.[0]?.message)}`);
    }
    if (module.state() === "failed" && tests.length === 0) {
      lines.push(`vitest: failed: ${file}: ${firstLine(module.errors()[0]?.message)}`);
    }
  }
  return lines;
}

function firstLine(message: string | undefined): string {
  const line = (message ?? "no error message").split("\n", 1)[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) counts.failed++;
    }
    const failures = failureLines(testModules);
    const skipped = counts.skipped ? `, ${counts.skipped} skipped` : "";
    process.stdout.write(
      `\n${failures.map((line) => `${line}\n`).join("")}vitest: ${counts.passed} passed, ${counts.failed} failed${skipped}\n`,
    );
  }
}
