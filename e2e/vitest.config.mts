import { defineConfig } from "vitest/config";

// The end-to-end suite: the real Pulumi CLI against servers it starts itself, with the Go tools
// that `scripts/setup.sh` builds. CI runs it after `npm test` (`.ci/run`).
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: "forks",
    reporters: ["default", "./test/summaryReporter.ts"],
  },
});
