/**
 * Prints one plain closing line, `vitest: N passed, N failed[, N skipped]`, which CI
 * readers recognise in any language, and before it a `vitest: failed: …` line per failed test
 * (file, name, the error's first line). CI repeats those lines at the very end of its log, since
 * a log read from its tail would otherwise bury a failure under the phases that ended later.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const failures: string[] = [];
    for (const module of testModules) {
      const file = module.relativeModuleId;
      const tests = [...module.children.allTests()];
      for (const test of tests) {
        const result = test.result();
        if (result.state === "passed") counts.passed++;
        else if (result.state === "failed") {
          counts.failed++;
          failures.push(
            `vitest: failed: ${file} > ${test.fullName}: ${firstLine(result.errors?.[0]?.message)}`,
          );
        } else counts.skipped++;
      }
      // A file or a suite that failed outside any test (an import, a beforeAll) is one failure.
      const outside: Array<{ where: string; message?: string }> = [
        ...module.errors().map((error) => ({ where: file, message: error.message })),
        ...[...module.children.allSuites()].flatMap((suite) =>
          suite.errors().map((error) => ({ where: `${file} > ${suite.fullName}`, message: error.message })),
        ),
      ];
      if (module.state() === "failed" && tests.length === 0 && outside.length === 0)
        outside.push({ where: file });
      for (const { where, message } of outside) {
        counts.failed++;
        failures.push(`vitest: failed: ${where}: ${firstLine(message)}`);
      }
    }
    const skipped = counts.skipped ? `, ${counts.skipped} skipped` : "";
    process.stdout.write(
      `\n${failures.map((line) => `${line}\n`).join("")}vitest: ${counts.passed} passed, ${counts.failed} failed${skipped}\n`,
    );
  }
}

function firstLine(message: string | undefined): string {
  const line = (message ?? "no error message").split("\n", 1)[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
