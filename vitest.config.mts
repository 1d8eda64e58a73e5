import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "lib/**/*.test.ts",
      "entry/**/*.test.ts",
      "components/**/*.test.ts",
      "cli/**/*.test.ts",
      "policy/**/*.test.ts",
      "test/**/*.test.ts",
      "testkit/**/*.test.ts",
    ],
    globalSetup: ["testkit/servers/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    pool: "forks",
    reporters: ["default", "./test/summaryReporter.ts"],
  },
});
