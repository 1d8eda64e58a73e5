/**
 * Starts the real servers the tests talk to, once per `vitest run`, and hands their
 * addresses to the test workers through the environment. A variable that is already set
 * (e.g. TEST_REDIS_URL) points the tests at an existing server instead. The Kubernetes plane
 * starts in its own setup (kubePlaneSetup.ts), only for the tests that need it.
 */
import { startMoto, startPostgres, startRedis, type RunningServer } from ".";

const starters: Record<string, () => Promise<RunningServer>> = {
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
