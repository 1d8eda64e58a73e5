/**
 * The set-up most end-to-end tests share: Tines-shaped ECS services on moto, as other
 * tooling would have created them, and a stack on the real Pulumi CLI configured for them.
 * The servers (moto and whatever else a test needs) are started by the test, in parallel.
 */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import Redis from "ioredis";
import { startMoto, startPostgres, startRedis, type RunningServer } from "../testkit/servers/localServers";
import { fillTinesLike, type TestDatabase } from "../testkit/databases";
import { enqueue } from "../testkit/sidekiqJobs";
import { createEcsServices, ecsDesiredCounts, type MotoEcs } from "../testkit/motoEcs";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";
import { fileFixture, type FileScope } from "../testkit/testScope";
import { quickDrainConfig, tinesRedisUrl, type ConfigValues } from "./stackConfig";

export const MOTO_REGION = "us-east-1";

/** moto accepts any credentials; explicit ones keep the SDK away from the machine's own. */
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };

export const MOTO_ENV = {
  AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
  AWS_REGION: MOTO_REGION,
};

export interface EcsStackOptions {
  /** The Pulumi stack name. */
  stack: string;
  moto: RunningServer;
  /** The ECS cluster of the services (default: `tines-<stack>`, so that no two stacks share one). */
  cluster?: string;
  /** The ECS services created on moto with these desired counts. */
  counts: Record<string, number>;
  /** The counts the stack config lists as `services.<key>` (default: `counts`). */
  services?: Record<string, number>;
  /** More stack config, set with the ECS keys (it wins over them). */
  config?: ConfigValues;
  /** More environment for the Pulumi CLI, on top of the moto credentials and region. */
  env?: NodeJS.ProcessEnv;
}

/** `services.<key>: count` for the stack config. */
export function servicesConfig(counts: Record<string, number>): ConfigValues {
  return Object.fromEntries(Object.entries(counts).map(([key, count]) => [`services.${key}`, count]));
}

/** The environment of Tines in a Secrets Manager secret on moto (an endpoint switch's target). */
export interface EnvSecret {
  /** The variables the secret holds now. */
  read(): Promise<Record<string, string>>;
  /** The stack config that makes this secret the endpoint switch's target. */
  targetConfig: ConfigValues;
}

/** Creates the secret `secretId` on moto holding `env` as JSON, as Tines' ECS set-up would. */
export async function createEnvSecret(
  moto: RunningServer,
  secretId: string,
  env: Record<string, string>,
): Promise<EnvSecret> {
  const client = new SecretsManagerClient({
    endpoint: moto.url,
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
  });
  await client.send(new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify(env) }));
  return {
    read: async () =>
      JSON.parse(
        (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? "{}",
      ) as Record<string, string>,
    targetConfig: {
      "endpoints.target.kind": "secrets-manager",
      "endpoints.target.secretId": secretId,
      "endpoints.target.endpoint": moto.url,
      "endpoints.target.region": MOTO_REGION,
    },
  };
}

/** The services on moto and a stack in phase shutdown on them, initialised and configured. */
export async function createEcsStack(
  options: EcsStackOptions,
): Promise<{ stack: PulumiStack; ecs: MotoEcs }> {
  const ecs: MotoEcs = {
    endpoint: options.moto.url,
    region: MOTO_REGION,
    cluster: options.cluster ?? `tines-${options.stack}`,
  };
  await createEcsServices(ecs, options.counts);
  const stack = new PulumiStack({ stack: options.stack, env: { ...MOTO_ENV, ...options.env } });
  await stack.init();
  await stack.setConfig({
    phase: "shutdown",
    platform: "ecs",
    "ecs.cluster": ecs.cluster,
    "ecs.endpoint": ecs.endpoint,
    "ecs.region": MOTO_REGION,
    ...servicesConfig(options.services ?? options.counts),
    stepTimeoutSeconds: 60,
    ...options.config,
  });
  return { stack, ecs };
}

/** What an ECS end-to-end file's set-up may start or create; all of it goes after the file. */
export interface EcsE2eScope extends FileScope {
  /** `createEcsStack`; the stack is removed after the file (kept, and its directory printed, with E2E_KEEP). */
  ecsStack(options: EcsStackOptions): Promise<{ stack: PulumiStack; ecs: MotoEcs }>;
}

/**
 * An ECS end-to-end file's servers, services on moto and stack, as one object that its
 * `beforeAll` fills in with what `setUp` returns (testkit/testScope.ts `fileFixture`).
 */
export function ecsE2e<T extends object>(setUp: (scope: EcsE2eScope) => Promise<T>): T {
  return fileFixture((scope) =>
    setUp({
      ...scope,
      async ecsStack(options) {
        const created = await createEcsStack(options);
        scope.afterFile(() => {
          if (process.env.E2E_KEEP) console.log(`e2e: kept ${created.stack.dir}`);
          else created.stack.remove();
        });
        return created;
      },
    }),
  );
}

/** A database migration's servers and stack (`createMigrationStack`). */
export interface MigrationStack {
  stack: PulumiStack;
  ecs: MotoEcs;
  sourceServer: RunningServer;
  targetServer: RunningServer;
  /** `database.url`: filled as Tines fills its database. */
  source: TestDatabase;
  /** `database.migration.targetUrl`: empty. */
  target: TestDatabase;
  /** `database.backup.directory`. */
  backupDir: string;
}

/**
 * A migration from one real PostgreSQL cluster to another: both started with moto, a Tines-like
 * source database, an empty target database, and the stack set to back the source up and copy
 * it (two jobs); all of it goes after the file.
 */
export async function createMigrationStack(
  { start, database, tempDir, ecsStack }: EcsE2eScope,
  options: {
    stack: string;
    counts: Record<string, number>;
    /** The size of the source (testkit/databases.ts `fillTinesLike`). */
    fill: { rows: number; largeRows: number };
    /** More environment for the Pulumi CLI. */
    env?: NodeJS.ProcessEnv;
  },
): Promise<MigrationStack> {
  const [sourceServer, targetServer, moto] = await start(
    startPostgres(`${options.stack}-source`),
    startPostgres(`${options.stack}-target`),
    startMoto(),
  );
  const source = await database(sourceServer.url, "tines_src");
  await fillTinesLike(source.url, options.fill);
  const target = await database(targetServer.url, "tines_dst");
  const backupDir = tempDir(`tines-maint-${options.stack}-backup-`);
  const { stack, ecs } = await ecsStack({
    stack: options.stack,
    moto,
    counts: options.counts,
    config: { "database.backup.directory": backupDir, "database.migration.jobs": 2 },
    env: options.env,
  });
  await stack.setSecret("database.url", source.url);
  await stack.setSecret("database.migration.targetUrl", target.url);
  return { stack, ecs, sourceServer, targetServer, source, target, backupDir };
}

/** Prints how a CLI run ended and its diagnostics; returns its whole output. */
export function logRun(step: string, result: CliResult): string {
  const output = result.stdout + result.stderr;
  console.log(`--- ${step}: exit ${result.code} in ${result.seconds.toFixed(1)} s`);
  console.log(output.slice(Math.max(0, output.indexOf("Diagnostics:"))));
  return output;
}

/** An ECS stack whose shutdown waits in the drain gate on a real Redis nobody consumes. */
export interface DrainGateStack {
  stack: PulumiStack;
  ecs: MotoEcs;
  /** A client of the stack's Redis, to queue and take jobs. */
  redis: Redis;
}

/**
 * Redis and moto started in parallel, the services on moto, the stack with the quick drain:
 * set up before the file's tests and gone after them (`ecsE2e`).
 */
export function drainGateE2e(options: {
  stack: string;
  counts: Record<string, number>;
  /** The drain gate's timeout: how long an undisturbed gate may wait. */
  drainTimeoutSeconds: number;
}): DrainGateStack {
  return ecsE2e(async ({ start, afterFile, ecsStack }) => {
    const [redisServer, moto] = await start(startRedis(), startMoto());
    const redis = new Redis(redisServer.url);
    afterFile(() => redis.disconnect());
    const { stack, ecs } = await ecsStack({
      stack: options.stack,
      moto,
      counts: options.counts,
      config: { ...quickDrainConfig(options.drainTimeoutSeconds), "sidekiq.preflight": "off" },
    });
    await stack.setSecret("sidekiq.redisUrl", tinesRedisUrl(redisServer));
    return { stack, ecs, redis };
  });
}

/**
 * Queues `jobs` jobs on `queue`, starts the shutdown and resolves once tines-app is down and
 * the drain gate has polled for 3 s: the moment an operator's Ctrl-C or a killed CI job meets.
 */
export async function shutdownIntoDrainGate(
  { stack, ecs, redis }: DrainGateStack,
  queue: string,
  jobs: number,
  message: string,
): Promise<ReturnType<PulumiStack["startUp"]>> {
  await enqueue(redis, queue, jobs);
  const run = stack.startUp(message);
  const deadline = Date.now() + 300_000;
  while ((await ecsDesiredCounts(ecs, ["tines-app"]))["tines-app"] !== 0) {
    if (Date.now() > deadline) throw new Error(`tines-app never reached 0:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 3000));
  return run;
}
