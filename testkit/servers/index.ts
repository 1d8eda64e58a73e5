/**
 * The one way to start a local server for the tests, the end-to-end suite, the benchmarks and
 * the demo: each on loopback, on a free port, in a private temp directory, as a child process
 * of the caller that its `stop()` ends by PID (./localServers.ts `stopProcess`). The unit tests
 * share one of each through ./globalSetup.ts.
 */
export {
  freePort,
  startMoto,
  startPostgres,
  startRedis,
  stopProcess,
  TEST_PASSWORDS,
  TEST_PG_PASSWORD,
  TEST_REDIS_USER_PASSWORD,
  type RunningServer,
} from "./localServers";
export { startDnsmasq, type DnsRecord, type RunningDns } from "./dnsmasq";
export { startTestEngine, type TestEngine } from "./dockerEngine";
export { startKubePlane, type KubePlane } from "./kubernetes";
export { startSidekiq, type SidekiqServer } from "./sidekiq";
export { startTinesHealthServer, type TinesHealthServer } from "./tinesHealth";
