/**
 * Starts the real servers the tests talk to, once per `vitest run`, and hands their
 * addresses to the test workers through the environment. A variable that is already set
 * (e.g. TEST_REDIS_URL) points the tests at an existing server instead.
 */
import { startKubePlane, startMoto, startPostgres, startRedis, type RunningServer } from ".";

/**
 * The Kubernetes control plane (testkit/servers/kubernetes.ts); TEST_KUBE_DIR holds its
 * kubeconfig and credentials. When its binaries are not built, the other tests still run and
 * every Kubernetes test fails with TEST_KUBE_ERROR, which names the build command.
 */
async function startKube(): Promise<RunningServer> {
  try {
    const plane = await startKubePlane();
    return { url: plane.dir, stop: () => plane.stop() };
  } catch (error) {
    process.env.TEST_KUBE_ERROR = (error as Error).message.split("\n")[0];
    return { url: "", stop: async () => undefined };
  }
}

const starters: Record<string, () => Promise<RunningServer>> = {
  TEST_KUBE_DIR: startKube,
  TEST_REDIS_URL: startRedis,
  TEST_PG_SOURCE_URL: () => startPostgres("source"),
  TEST_PG_TARGET_URL: () => startPostgres("target"),
  TEST_AWS_ENDPOINT: startMoto,
};

const running: RunningServer[] = [];

export async function setup(): Promise<void> {
  await Promise.all(
    Object.entries(starters).map(async ([variable, start]) => {
      if (process.env[variable]) return;
      const server = await start();
      running.push(server);
      if (server.url) process.env[variable] = server.url;
    }),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((server) => server.stop()));
}
