/**
 * `npm run demo`: one whole maintenance window on this machine. A Tines-shaped Compose project
 * on a private dockerd, a real Redis with a real Sidekiq working off jobs, a real PostgreSQL
 * with data and an empty second one; the real Pulumi CLI runs the shutdown (pre-flight, drain,
 * backup, migration, endpoint switch) and the startup (propagation gate, counts restored),
 * then `maint report` draws the window. Everything lives in one temp directory and is stopped
 * (by PID) and removed at the end, also on failure and on Ctrl-C; only the report stays.
 *
 * Usage: npm run demo [-- --out FILE]
 *
 * The demo is a rehearsal on this machine's test servers, not part of the program: it starts
 * them with the test kit (testkit/), as the tests and the e2e suite do.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeWindowReport } from "../cli/commands/report";
import { createComposeContainer, TEST_IMAGE } from "../testkit/servers/dockerEngine";
import { isUp } from "../lib/compose/scale";
import { composeShutdownConfig } from "../testkit/compose";
import { createDatabase, fillTinesLike, withClient } from "../testkit/databases";
import { oneLine } from "../lib/errors";
import { operatorPulumiCli, PROJECT_ROOT, PulumiStack } from "../testkit/pulumiCli";
import {
  startPostgres,
  startRedis,
  startSidekiq,
  startTestEngine,
  stopProcess,
  TEST_PG_PASSWORD,
  TEST_REDIS_USER_PASSWORD,
  type RunningServer,
  type TestEngine,
} from "../testkit/servers";

const PROJECT = "tines-demo";
const STACK = "demo";
/** Service key -> running count, and the container name Tines' Compose files use. */
const SERVICES: Record<string, { count: number; composeService: string }> = {
  nginx: { count: 1, composeService: "tines-nginx" },
  "tines-app": { count: 2, composeService: "tines-app" },
  "tines-sidekiq": { count: 2, composeService: "tines-sidekiq" },
  "tines-command-runner": { count: 1, composeService: "tines-command-runner" },
  "pypi-server": { count: 1, composeService: "pypi-server" },
};
const BACKLOG_JOBS = 30;
const JOB_SECONDS = 1;
const SIDEKIQ_THREADS = 3;

const started = Date.now();
const say = (line: string) =>
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
/**
 * Pulumi's progress as it comes, without the spinner lines and the repeated diagnostics and
 * outputs at the end (the report has them), keeping the resource summary and duration.
 */
function pulumiEcho(): (line: string) => void {
  let tail = false;
  return (line) => {
    if (/^\s*(Diagnostics|Outputs):/.test(line)) tail = true;
    if (/^\s*(Resources|Duration):/.test(line)) tail = false;
    if (tail || /^@ /.test(line)) return;
    process.stdout.write(`        │ ${line}\n`);
  };
}

/** What to undo, newest first; runs once, whatever ends the demo. */
class Cleanup {
  private readonly steps: Array<{ what: string; undo: () => Promise<void> | void }> = [];
  private running?: Promise<void>;
  private readonly late: Array<Promise<void>> = [];
  add(what: string, undo: () => Promise<void> | void): void {
    // Started after an interrupt began cleaning up: undo it as soon as it exists.
    if (this.running) this.late.push(this.running.then(() => this.undo({ what, undo })));
    else this.steps.push({ what, undo });
  }
  async finished(): Promise<void> {
    await this.running;
    await Promise.all(this.late);
  }
  private async undo(step: { what: string; undo: () => Promise<void> | void }): Promise<void> {
    try {
      await step.undo();
    } catch (error) {
      process.stderr.write(`demo: cleaning up ${step.what} failed: ${oneLine(error)}\n`);
    }
  }
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) await this.undo(step);
    })();
    return this.running;
  }
}

function stopped(child: ChildProcess, what: string): () => Promise<void> {
  return () =>
    stopProcess(child, 30_000, (pid) =>
      process.stderr.write(`demo: ${what} (pid ${pid}) ignored SIGTERM; killing it\n`),
    );
}

/**
 * Tines' web tier, as far as Sidekiq sees it: Sidekiq's own client enqueues a backlog, then two
 * jobs a second, until the demo stops it when the tines-app containers have stopped.
 */
function startProducer(redisUrl: string): ChildProcess {
  const script =
    `${BACKLOG_JOBS}.times { DemoJob.perform_async(${JOB_SECONDS}) }; ` +
    `loop { DemoJob.perform_async(${JOB_SECONDS}); sleep 0.5 }`;
  return spawn("ruby", ["-r", path.join(PROJECT_ROOT, "demo", "demo_worker.rb"), "-e", script], {
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: "ignore",
  });
}

/** Stops the producer once no tines-app container runs: the web tier is down, no new jobs. */
async function stopProducerWithApp(
  engine: TestEngine,
  producer: ChildProcess,
  done: () => boolean,
): Promise<void> {
  while (!done()) {
    const app = await engine.engine.listServiceContainers(PROJECT, SERVICES["tines-app"].composeService);
    if (app.every((c) => !isUp(c.State))) {
      await stopped(producer, "the job producer")();
      say("tines-app is down: no more jobs are enqueued; Sidekiq finishes what is queued");
      return;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function containerCounts(engine: TestEngine): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [key, service] of Object.entries(SERVICES)) {
    const containers = await engine.engine.listServiceContainers(PROJECT, service.composeService);
    counts[key] = containers.filter((c) => isUp(c.State)).length;
  }
  return counts;
}

const countsLine = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

async function rowCount(url: string): Promise<number> {
  return withClient(url, async (c) =>
    Number((await c.query("SELECT count(*) AS n FROM tines.events")).rows[0].n),
  );
}

async function demo(out: string, cleanup: Cleanup): Promise<void> {
  const binDir = operatorPulumiCli(say);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-maint-demo-"));
  cleanup.add("the temp directory", () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  say(`working in ${dir}`);

  say("starting a private dockerd, Redis and two PostgreSQL servers on loopback");
  const servers: RunningServer[] = [];
  const engine = await startTestEngine();
  cleanup.add("dockerd", () => engine.stop());
  for (const start of [startRedis, () => startPostgres("demo-old"), () => startPostgres("demo-new")]) {
    const server = await start();
    servers.push(server);
    cleanup.add("a server", () => server.stop());
  }
  const [redisServer, pgOld, pgNew] = servers;
  const redisPort = new URL(redisServer.url).port;
  const redisUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@127.0.0.1:${redisPort}/0`;
  const newRedisUrl = `redis://tines:${TEST_REDIS_USER_PASSWORD}@localhost:${redisPort}/0`;

  const source = await createDatabase(pgOld.url, "tines");
  await fillTinesLike(source.url, { rows: 5000, largeRows: 2 });
  const target = await createDatabase(pgNew.url, "tines");
  const sourceRows = await rowCount(source.url);
  say(
    `PostgreSQL ${new URL(pgOld.url).port}: database ${source.name} with ${sourceRows} events; PostgreSQL ${new URL(pgNew.url).port}: ${target.name}, empty`,
  );

  const composeDir = path.join(dir, "compose");
  mkdirSync(composeDir);
  writeFileSync(
    path.join(composeDir, ".env"),
    `# Tines\nDATABASE_HOST=127.0.0.1\nDATABASE_PORT=${new URL(pgOld.url).port}\nREDIS_URL=${redisUrl}\nRAILS_ENV=production\n`,
    { mode: 0o600 },
  );
  writeFileSync(path.join(composeDir, "compose.yaml"), composeFile());
  for (const [key, service] of Object.entries(SERVICES)) {
    for (let n = 1; n <= service.count; n++) {
      await createComposeContainer(engine.engine, {
        project: PROJECT,
        service: service.composeService,
        number: n,
        // Longer than Sidekiq's 25 s shutdown timeout, as the program's grace check asks.
        stopTimeout: key === "tines-sidekiq" ? 40 : 10,
        readyAfterSeconds: key === "tines-app" ? 1 : undefined,
      });
    }
  }
  say(`Compose project ${PROJECT} on ${engine.dockerHost}: ${countsLine(await containerCounts(engine))}`);

  const sidekiq = await startSidekiq({
    redisUrl,
    jobs: path.join(PROJECT_ROOT, "demo", "demo_worker.rb"),
    environment: "production",
    concurrency: SIDEKIQ_THREADS,
    // Sidekiq's own default: what the grace periods of the Compose project are checked against.
    shutdownTimeoutSeconds: 25,
  });
  cleanup.add("sidekiq", () => sidekiq.stop());
  say(
    `Sidekiq ${sidekiqVersion()} running (pid ${sidekiq.pid}, ${SIDEKIQ_THREADS} threads) on Redis ${redisPort}`,
  );

  const stack = new PulumiStack({ stack: STACK, binDir, dir, policyPack: false });
  cleanup.add("pulumi", () => stack.stop());
  await stack.init();
  await stack.setConfig({
    ...composeShutdownConfig({
      projectName: PROJECT,
      projectDirectory: composeDir,
      dockerHost: engine.dockerHost,
      services: Object.fromEntries(Object.entries(SERVICES).map(([key, s]) => [key, s.count])),
    }),
    "sidekiq.intervalSeconds": 1,
    "sidekiq.windowSeconds": 8,
    // Sidekiq 6 writes its busy count every 5 s: settle longer than that.
    "sidekiq.settleSeconds": 6,
    "sidekiq.timeoutSeconds": 120,
    "sidekiq.preflightSeconds": 3,
    "database.backup.directory": path.join(dir, "backups"),
    "database.migration.jobs": 2,
    "endpoints.databaseHost": "localhost",
    "endpoints.databasePort": Number(new URL(pgNew.url).port),
    "endpoints.propagation.intervalSeconds": 1,
    "endpoints.propagation.timeoutSeconds": 30,
    "endpoints.propagation.ttlSeconds": 1,
    "endpoints.propagation.database.user": "postgres",
    "endpoints.propagation.database.name": target.name,
  });
  mkdirSync(path.join(dir, "backups"));
  await stack.setSecret("sidekiq.redisUrl", redisUrl);
  await stack.setSecret("database.url", source.url);
  await stack.setSecret("database.migration.targetUrl", target.url);
  await stack.setSecret("endpoints.redisUrl", newRedisUrl);
  await stack.setSecret("endpoints.propagation.database.password", TEST_PG_PASSWORD);
  say(`stack ${STACK} on a file backend in ${dir}/state (secrets encrypted with a random passphrase)`);

  const producer = startProducer(redisUrl);
  cleanup.add("the job producer", stopped(producer, "the job producer"));
  say(
    `the web tier enqueues ${BACKLOG_JOBS} jobs of ${JOB_SECONDS} s, then 2 a second until tines-app stops (pid ${producer.pid})`,
  );
  say("pulumi up: phase shutdown");
  let shutdownDone = false;
  const watcher = stopProducerWithApp(engine, producer, () => shutdownDone);
  const shutdown = await stack.up(
    "demo: shutdown, back up and migrate the database, switch endpoints",
    ["--skip-preview"],
    pulumiEcho(),
  );
  shutdownDone = true;
  await watcher;
  if (shutdown.code !== 0) throw new Error(`the shutdown update failed (exit ${shutdown.code})`);
  const backups = readdirSync(path.join(dir, "backups"));
  say(`after the shutdown: ${countsLine(await containerCounts(engine))}`);
  say(
    `backup ${backups.join(", ")} (${backups.map((b) => statSync(path.join(dir, "backups", b)).size).join(", ")} bytes); ` +
      `new database has ${await rowCount(target.url)} of ${sourceRows} events`,
  );

  await stack.setConfig({ phase: "running" });
  say("pulumi up: phase running");
  const startup = await stack.up("demo: startup on the new database", ["--skip-preview"], pulumiEcho());
  if (startup.code !== 0) throw new Error(`the startup update failed (exit ${startup.code})`);
  say(`after the startup: ${countsLine(await containerCounts(engine))}`);

  const report = await writeWindowReport({ stack: STACK, out, run: (args) => stack.run(args) });
  say(`window report: ${report.path}`);
}

/** The project's compose file, as Tines' own names its services; the containers match it. */
function composeFile(): string {
  const services = Object.entries(SERVICES).map(
    ([key, s]) =>
      `  ${s.composeService}:\n    image: ${TEST_IMAGE}\n    env_file: .env\n` +
      (key === "tines-sidekiq" ? "    stop_grace_period: 40s\n" : ""),
  );
  return `name: ${PROJECT}\nservices:\n${services.join("")}`;
}

function sidekiqVersion(): string {
  const result = spawnSync("ruby", ["-r", "sidekiq", "-e", "print Sidekiq::VERSION"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout : "?";
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: "string" } }, strict: true });
  const out = path.resolve(values.out ?? path.join(os.tmpdir(), "tines-maintenance-demo-report.html"));
  const cleanup = new Cleanup();
  let interrupted: Promise<number> | undefined;
  let settled: Promise<unknown> = Promise.resolve();
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    say(`${signal}: stopping the demo and cleaning up`);
    interrupted = (async () => {
      await cleanup.run();
      // A server that was starting when the signal came registers itself, and is stopped, here.
      await Promise.race([settled, new Promise((r) => setTimeout(r, 40_000))]);
      await cleanup.finished();
      say("interrupted: everything the demo started is stopped and its temp directory removed");
      return 130;
    })();
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  const run = demo(out, cleanup);
  settled = run.catch(() => undefined);
  try {
    await run;
  } catch (error) {
    if (interrupted) return interrupted;
    process.stderr.write(`demo: ${oneLine(error)}\n`);
    await cleanup.run();
    return 1;
  }
  if (interrupted) return interrupted;
  say("cleaning up: stopping servers by PID, removing the temp directory");
  await cleanup.run();
  say("done");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${oneLine(error)}\n`);
    process.exit(1);
  },
);
