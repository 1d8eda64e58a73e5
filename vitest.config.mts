import { configDefaults, defineConfig } from "vitest/config";

/**
 * The tests that need a tool `scripts/build-go-tools.sh` builds: the Kubernetes test plane
 * (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) or Docker Compose v2.
 * `npm test` runs both projects; CI (.ci/run) runs `unit` while those tools still build and
 * `go-tools` once they are built. A test that needs the plane but is not listed here fails in
 * `unit` ("no Kubernetes test plane"), it is never skipped.
 */
const GO_TOOL_TESTS = [
  "lib/kubernetes/keda.test.ts",
  "lib/kubernetes/rollout.test.ts",
  "lib/kubernetes/workload.test.ts",
  "lib/window/versions.test.ts",
  "components/platforms/kedaPause.test.ts",
  "components/platforms/kubernetesRollout.test.ts",
  "lib/compose/recreate.test.ts",
];

/**
 * Files run side by side in this many forks (UNIT_FORKS overrides). Vitest's default on 2 cores
 * is one fork, but most of these tests wait on real servers (heartbeats, gates, the CLI), and
 * each file has its own Redis database, PostgreSQL databases, ports and directories.
 */
const FORKS = Number(process.env.UNIT_FORKS ?? 3);

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  fileParallelism: FORKS > 1,
  maxWorkers: FORKS,
  pool: "forks",
} as const;

export default defineConfig({
  test: {
    // Redis, two PostgreSQL clusters and moto, once per run for both projects.
    globalSetup: ["testkit/servers/globalSetup.ts"],
    reporters: ["default", "./test/summaryReporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "lib/**/*.test.ts",
            "entry/**/*.test.ts",
            "components/**/*.test.ts",
            "cli/**/*.test.ts",
            "policy/**/*.test.ts",
            "test/**/*.test.ts",
            "testkit/**/*.test.ts",
          ],
          exclude: [...configDefaults.exclude, ...GO_TOOL_TESTS],
          ...shared,
        },
      },
      {
        test: {
          name: "go-tools",
          include: GO_TOOL_TESTS,
          // The Kubernetes plane, started only when a test of this project runs.
          globalSetup: ["testkit/servers/kubePlaneSetup.ts"],
          ...shared,
        },
      },
    ],
  },
});
