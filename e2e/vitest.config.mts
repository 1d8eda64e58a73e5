import { defineConfig } from "vitest/config";

// The end-to-end suite: the real Pulumi CLI against servers it starts itself. Not part of
// `npm test` (the CLI may first need a 15-minute build); run it with `npm run e2e`.
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    pool: "forks",
  },
});
