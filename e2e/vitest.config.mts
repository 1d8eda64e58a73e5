import { defineConfig } from "vitest/config";

/** The e2e files that need the Kubernetes plane and the pulumi-resource-kubernetes plugin. */
const KUBERNETES_E2E = ["e2e/kubernetes.e2e.test.ts"];

/**
 * Files run side by side in this many forks (E2E_FORKS overrides). Every file has its own
 * stacks, state, PULUMI_HOME, temp directories, servers on free ports and dockerd, so nothing
 * is shared but the cores; most of an e2e file's time is waits (gates, platforms, the CLI's
 * start-up), so two forks more than the 2 cores still gain: in a warm CI run, e2e for every
 * platform took 1250 s in 4 forks against 1312–1337 s in 3, with the unit tests beside it.
 */
const FORKS = Number(process.env.E2E_FORKS ?? 4);

const shared = {
  testTimeout: 600_000,
  hookTimeout: 300_000,
  pool: "forks",
} as const;

// The end-to-end suite: the real Pulumi CLI against servers it starts itself, with the Go tools
// that `scripts/setup.sh` builds. CI runs it after `npm test` (`.ci/run`): `e2e` once the
// Pulumi CLI and Compose are built, `e2e-kubernetes` once the Kubernetes tools are.
export default defineConfig({
  test: {
    fileParallelism: FORKS > 1,
    maxWorkers: FORKS,
    reporters: ["default", "./test/summaryReporter.ts"],
    projects: [
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          exclude: KUBERNETES_E2E,
          ...shared,
        },
      },
      {
        test: {
          name: "e2e-kubernetes",
          include: KUBERNETES_E2E,
          // The run's Kubernetes plane (or CI's, through TEST_KUBE_DIR).
          globalSetup: ["testkit/servers/kubePlaneSetup.ts"],
          ...shared,
        },
      },
    ],
  },
});
