/**
 * Benchmark: one whole maintenance window (shutdown, then startup) under the real Pulumi
 * engine, against a shell script doing the seed's commands in order with the platform's own
 * wait command, on the same platform in the same run.
 *
 *   npx tsx bench/window.ts [--platform ecs|compose|kubernetes] [--runs 1] [--modes sources,compiled]
 *
 * ecs: moto plays ECS (the aws CLI from PyPI `awscli` runs the script); compose: the private
 * dockerd of testkit/servers/dockerEngine.ts with Tines-labelled containers (`docker compose stop/start`);
 * kubernetes: the real control plane of testkit/servers/kubernetes.ts (etcd, kube-apiserver,
 * controller-manager, scheduler, kwok as the kubelet, each deleted pod lingering 1 s as a
 * container's shutdown would) with four Deployments (`kubectl scale` + `kubectl rollout status`).
 *
 * Both methods are timed from outside, the same way: an observer polls the platform every
 * 100 ms and records when each service's target was set and when the platform reported it
 * reached. From those: the wall time; the platform's own wait (target set -> reached, summed);
 * the start cost (launch -> first service touched) and the cost per step (one service touched
 * -> the next, minus any gate's own wait in between). The program runs twice: from its
 * TypeScript sources (TINES_MAINTENANCE_FROM_SOURCES=1: ts-node transpiles the program and
 * Pulumi's policy runner type-checks the policy pack on every run, as before the compiled
 * entry) and compiled (`npm run build:program`, which the benchmark runs first), each with the
 * project's policy pack and without one (`--packs`).
 *
 * The floor, in the same run under the same CLI: a generated JavaScript program of as many
 * chained dynamic resources as ours registered in its measured window, whose provider does
 * nothing (every update updates each of them, as a window updates its gates), with a generated
 * one-rule policy pack or without one, run the same way (`pulumi up --yes`, preview included).
 * It has no steps, so its whole `pulumi up` is fixed cost: what any program of that size pays
 * under this engine. Ours is compared with it, pack for pack.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import { createEcsServices } from "../testkit/motoEcs";
import { PROJECT_ROOT, PulumiStack } from "../testkit/pulumiCli";
import { startMoto, startRedis, type RunningServer } from "../testkit/servers/localServers";
import { findComposeBinary } from "../testkit/compose";

const { values } = parseArgs({
  options: {
    platform: { type: "string", default: "ecs" },
    runs: { type: "string", default: "1" },
    modes: { type: "string", default: "sources,compiled" },
    packs: { type: "string", default: "with,without" },
  },
});
type Pack = "with" | "without";
type Mode = "sources" | "compiled";
const MODE_LABEL: Record<Mode, string> = {
  sources: "program (TypeScript sources)",
  compiled: "program (compiled)",
};
const runs = Number(values.runs);
const platformName = values.platform as "ecs" | "compose" | "kubernetes";
const modes = values.modes.split(",") as Mode[];
const packs = values.packs.split(",") as Pack[];
if (
  !(runs >= 1) ||
  !["ecs", "compose", "kubernetes"].includes(platformName) ||
  modes.some((m) => !["sources", "compiled"].includes(m)) ||
  packs.some((p) => !["with", "without"].includes(p))
) {
  process.stderr.write(
    "usage: --platform ecs|compose|kubernetes --runs N (N >= 1) --modes sources,compiled (either or both) " +
      "--packs with,without (either or both)\n",
  );
  process.exit(2);
}
const PACK_LABEL: Record<Pack, string> = { with: "policy pack", without: "no policy pack" };

/** Live counts before the window; the seed's scale-down order. */
const COUNTS: Record<string, number> = {
  "tines-app": 3,
  "tines-sidekiq": 4,
  "tines-command-runner": 2,
  "pypi-server": 1,
};
const ORDER = Object.keys(COUNTS);

interface Observation {
  service: string;
  /** When the target count was first seen set (ms since epoch). */
  setAt: number;
  /** When the platform first reported the target reached. */
  reachedAt: number;
}

/** A platform as the observer sees it: per service, the target count and whether it is reached. */
interface Platform {
  name: string;
  read(): Promise<Record<string, { target: number; reached: boolean }>>;
  /** Runs the seed's commands for one phase; resolves when the script exits. */
  script(phase: "shutdown" | "running"): Promise<void>;
  /** Stack config for the program. */
  config: Record<string, string | number | boolean>;
  env: Record<string, string>;
  /** Extra PATH entries for the Pulumi CLI (resource plugins). */
  pathDirs?: string[];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the platform while `run` runs; returns what changed and when. */
async function observe(platform: Platform, phase: "shutdown" | "running", run: () => Promise<unknown>) {
  const goal = (service: string) => (phase === "shutdown" ? 0 : COUNTS[service]);
  const seen = new Map<string, Partial<Observation>>();
  let done = false;
  const poller = (async () => {
    while (!done) {
      const now = Date.now();
      const state = await platform.read();
      for (const service of ORDER) {
        const s = state[service];
        if (!s || s.target !== goal(service)) continue;
        const o = seen.get(service) ?? { service, setAt: now };
        if (s.reached && o.reachedAt === undefined) o.reachedAt = now;
        seen.set(service, o);
      }
      await sleep(100);
    }
  })();
  const started = Date.now();
  await run();
  const ended = Date.now();
  // A method may exit before the platform is there (`kubectl rollout status` returns before
  // the scaled-down pods are gone): keep watching, up to 60 s, and report when it settled.
  const reachedAll = () => ORDER.every((s) => seen.get(s)?.reachedAt !== undefined);
  for (let waited = 0; waited < 60_000 && !reachedAll(); waited += 100) await sleep(100);
  await sleep(250);
  done = true;
  await poller;
  const observations = [...seen.values()].filter((o): o is Observation => o.reachedAt !== undefined);
  observations.sort((a, b) => a.setAt - b.setAt);
  if (observations.length !== ORDER.length) {
    throw new Error(
      `bench: ${phase} reached ${observations.length}/${ORDER.length} services; last seen ${JSON.stringify(await platform.read())}`,
    );
  }
  return { started, ended, observations };
}

interface WindowRow {
  method: string;
  phase: string;
  wall: number;
  platformWait: number;
  start: number;
  perStep: number;
  tail: number;
  /** From the launch to the last service reached (after `wall` when the method exits early). */
  settled: number;
  gates: number;
}

function summarise(
  method: string,
  phase: string,
  run: Awaited<ReturnType<typeof observe>>,
  gateSeconds = 0,
): WindowRow {
  const { started, ended, observations } = run;
  const s = (ms: number) => ms / 1000;
  const intervals = observations.slice(1).map((o, i) => o.setAt - observations[i].setAt);
  const steps = (intervals.reduce((a, b) => a + b, 0) - gateSeconds * 1000) / intervals.length;
  return {
    method,
    phase,
    wall: s(ended - started),
    platformWait: s(observations.reduce((a, o) => a + (o.reachedAt - o.setAt), 0)),
    start: s(observations[0].setAt - started),
    perStep: s(steps),
    tail: s(ended - observations[observations.length - 1].setAt),
    settled: s(Math.max(...observations.map((o) => o.reachedAt)) - started),
    gates: gateSeconds,
  };
}

async function ecsPlatform(): Promise<Platform> {
  const moto = await startMoto();
  const cluster = "tines-bench";
  const ecs = { endpoint: moto.url, region: "us-east-1", cluster };
  await createEcsServices(ecs, COUNTS);
  const client = new ECSClient({
    endpoint: moto.url,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  const awsEnv = {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_DEFAULT_REGION: "us-east-1",
  };
  return {
    name: "ecs (moto)",
    async read() {
      const out = await client.send(new DescribeServicesCommand({ cluster, services: ORDER }));
      return Object.fromEntries(
        (out.services ?? []).map((s) => [
          s.serviceName ?? "",
          {
            target: s.desiredCount ?? -1,
            reached: s.runningCount === s.desiredCount && (s.deployments?.length ?? 0) <= 1,
          },
        ]),
      );
    },
    script(phase) {
      const order = phase === "shutdown" ? ORDER : [...ORDER].reverse();
      const pairs = order.map((s) => `${s}=${COUNTS[s]}`).join(" ");
      return run("bash", [path.join(__dirname, "seed", "ecs-window.sh"), phase, cluster, pairs], {
        ...awsEnv,
        AWS_ENDPOINT_URL_ARGS: `--endpoint-url ${moto.url}`,
      });
    },
    config: { platform: "ecs", "ecs.cluster": cluster, "ecs.endpoint": moto.url, "aws:region": "us-east-1" },
    env: { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" },
    stop: () => moto.stop(),
  };
}

async function composePlatform(): Promise<Platform> {
  const { startTestEngine, TEST_IMAGE } = await import("../testkit/servers/dockerEngine");
  const test = await startTestEngine();
  const project = "tines-bench";
  const dir = mkdtempSync(path.join(os.tmpdir(), "tines-bench-compose-"));
  const services = ORDER.map(
    (name) =>
      `  ${name}:\n    image: ${TEST_IMAGE}\n    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]\n` +
      `    stop_grace_period: 40s\n    deploy:\n      replicas: ${COUNTS[name]}\n`,
  );
  writeFileSync(path.join(dir, "compose.yaml"), `name: ${project}\nservices:\n${services.join("")}`);
  const dockerEnv = { DOCKER_HOST: test.dockerHost };
  // Compose v2 from the tools cache, for the seed script and for the program's startup, which
  // re-creates containers whose configuration changed (compose.cli).
  const composeBin = findComposeBinary();
  const compose = (args: string[]) => run(composeBin, ["--project-directory", dir, ...args], dockerEnv);
  await compose(["up", "-d"]);
  return {
    name: "compose (private dockerd)",
    async read() {
      const res = await test.engine.request(
        "GET",
        `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`,
      );
      const containers = JSON.parse(res.body) as Array<{ State: string; Labels: Record<string, string> }>;
      const out: Record<string, { target: number; reached: boolean }> = {};
      for (const service of ORDER) {
        const mine = containers.filter((c) => c.Labels["com.docker.compose.service"] === service);
        const running = mine.filter((c) => c.State === "running").length;
        out[service] = { target: running, reached: true };
      }
      return out;
    },
    script(phase) {
      const order = phase === "shutdown" ? ORDER : [...ORDER].reverse();
      const verb = phase === "shutdown" ? "stop" : "start";
      return (async () => {
        for (const service of order) await compose([verb, service]);
      })();
    },
    config: {
      platform: "compose",
      "compose.projectName": project,
      "compose.projectDirectory": dir,
      "compose.dockerHost": test.dockerHost,
      "compose.cli": composeBin,
    },
    env: dockerEnv,
    async stop() {
      await compose(["down", "-t", "1"]).catch(() => undefined);
      await test.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function kubernetesPlatform(): Promise<Platform> {
  const { startKubePlane, createReadyWorkload } = await import("../testkit/servers/kubernetes");
  const { toolPrefix } = await import("../testkit/goTools");
  if (spawnSync("kubectl", ["version", "--client"]).status !== 0)
    throw new Error(
      "kubectl is missing: the seed script of the Kubernetes window runs kubectl scale / rollout status",
    );
  const plane = await startKubePlane({ podDeleteDelayMs: 1000 });
  const namespace = "tines-bench";
  try {
    await plane.client.createNamespace(namespace);
    await Promise.all(
      ORDER.map((name) => createReadyWorkload(plane.client, "Deployment", namespace, name, COUNTS[name])),
    );
  } catch (error) {
    await plane.stop();
    throw error;
  }
  const env = { KUBECONFIG: plane.kubeconfig };
  return {
    name: "kubernetes (kube-apiserver + kwok)",
    async read() {
      const [deployments, pods] = await Promise.all([
        plane.client.list<{
          metadata: { name: string };
          spec: { replicas?: number };
          status?: { readyReplicas?: number };
        }>(`/apis/apps/v1/namespaces/${namespace}/deployments`),
        plane.client.list<{ metadata: { labels?: Record<string, string> } }>(
          `/api/v1/namespaces/${namespace}/pods`,
        ),
      ]);
      const out: Record<string, { target: number; reached: boolean }> = {};
      for (const d of deployments) {
        const target = d.spec.replicas ?? 1;
        // Reached: exactly the target's pods exist (terminating ones count) and all are ready.
        const existing = pods.filter(
          (p) => p.metadata.labels?.["app.kubernetes.io/name"] === d.metadata.name,
        ).length;
        out[d.metadata.name] = {
          target,
          reached: existing === target && (d.status?.readyReplicas ?? 0) === target,
        };
      }
      return out;
    },
    script(phase) {
      const order = phase === "shutdown" ? ORDER : [...ORDER].reverse();
      const pairs = order.map((s) => `${s}=${COUNTS[s]}`).join(" ");
      return run("bash", [path.join(__dirname, "seed", "k8s-window.sh"), phase, namespace, pairs], env);
    },
    config: { platform: "kubernetes", "kubernetes.namespace": namespace },
    env,
    pathDirs: [path.join(toolPrefix("pulumi-kubernetes"), "bin")],
    stop: () => plane.stop(),
  };
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (error, _out, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || error.message}`));
      else resolve();
    });
  });
}

/** `pulumi up --yes` of the stack, with the project's policy pack or without one. */
function up(stack: PulumiStack, pack: Pack, message: string) {
  return pack === "with" ? stack.up(message) : stack.runScoped(["up", "--yes", "--message", message]);
}

/** The dynamic resources in the stack's state: what the floor program registers as many of. */
async function dynamicResources(stack: PulumiStack): Promise<number> {
  const exported = await stack.ok(["stack", "export", "--stack", stack.stack]);
  const resources = (JSON.parse(exported.stdout) as { deployment: { resources?: Array<{ type: string }> } })
    .deployment.resources;
  return (resources ?? []).filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).length;
}

/**
 * Our program's window; returns how many dynamic resources it registered. With measure, a
 * first window creates the stack's resources and the second, an update, is measured.
 */
async function programWindow(
  platform: Platform,
  redis: RunningServer,
  mode: Mode,
  pack: Pack,
  rows: WindowRow[],
  measure: boolean,
): Promise<number> {
  const stack = new PulumiStack({
    stack: `bench-${mode}-${pack}`,
    env: { ...platform.env, ...(mode === "sources" ? { TINES_MAINTENANCE_FROM_SOURCES: "1" } : {}) },
    pathDirs: platform.pathDirs,
  });
  try {
    await stack.init();
    await stack.setConfig({
      ...platform.config,
      phase: "shutdown",
      ...Object.fromEntries(ORDER.map((s) => [`services.${s}`, COUNTS[s]])),
      stepTimeoutSeconds: 120,
      "sidekiq.preflight": "off",
      "sidekiq.intervalSeconds": 1,
      "sidekiq.windowSeconds": 2,
      "sidekiq.settleSeconds": 1,
    });
    await stack.setSecret("sidekiq.redisUrl", redis.url);
    // The first two updates create the stack's resources; windows after that are updates.
    for (const round of measure ? [0, 1] : [0]) {
      for (const phase of ["shutdown", "running"] as const) {
        await stack.setConfig({ phase });
        let code = 0;
        let out = "";
        const observed = await observe(platform, phase, async () => {
          const result = await up(stack, pack, `bench ${mode} ${phase}`);
          code = result.code;
          out = result.stdout + result.stderr;
        });
        if (code !== 0) throw new Error(`pulumi up (${phase}) failed:\n${out}`);
        const outputs = phase === "shutdown" ? await stack.outputs() : {};
        const drain = (outputs.audit as { sidekiqDrain?: { waitedSeconds?: number } } | undefined)
          ?.sidekiqDrain;
        if (round === 1 || !measure)
          rows.push(
            summarise(`${MODE_LABEL[mode]}, ${PACK_LABEL[pack]}`, phase, observed, drain?.waitedSeconds ?? 0),
          );
      }
    }
    return await dynamicResources(stack);
  } finally {
    stack.remove();
  }
}

/**
 * The floor: `count` chained dynamic resources that do nothing, in a generated JavaScript
 * program (and policy pack) under the project's node_modules, run like ours. Returns the wall
 * time of each measured `pulumi up` (the first one creates the resources and is not measured).
 */
async function floorUpdates(count: number, pack: Pack, updates: number): Promise<number[]> {
  const outDir = path.join(PROJECT_ROOT, "bench", "out");
  mkdirSync(outDir, { recursive: true });
  const dir = mkdtempSync(path.join(outDir, "floor-"));
  const programDir = path.join(dir, "program");
  const packDir = path.join(dir, "pack");
  const provider = `{
  async check(_olds, news) { return { inputs: news }; },
  async diff(_id, olds, news) { return { changes: olds.run !== news.run }; },
  async create(inputs) { return { id: "floor", outs: inputs }; },
  async update(_id, _olds, news) { return { outs: news }; },
  async delete() {},
}`;
  const files: Record<string, string> = {
    // The project's name (the stack PulumiStack initialises is this project's) and runtime options.
    "program/Pulumi.yaml":
      "name: tines-maintenance\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
    "program/index.js": `"use strict";
const pulumi = require("@pulumi/pulumi");
const provider = ${provider};
class Floor extends pulumi.dynamic.Resource {}
const run = String(Date.now());
let previous;
for (let i = 0; i < ${count}; i++) {
  previous = new Floor(provider, "floor-" + i, { run }, previous ? { dependsOn: [previous] } : {});
}
`,
    "pack/PulumiPolicy.yaml": "runtime: nodejs\n",
    "pack/package.json":
      '{ "name": "floor-pack", "version": "0.0.1", "private": true, "main": "index.js" }\n',
    "pack/index.js": `"use strict";
const { PolicyPack } = require("@pulumi/policy");
new PolicyPack("floor-pack", {
  policies: [{ name: "floor-rule", description: "Sees the whole stack, finds nothing.", enforcementLevel: "mandatory", validateStack: () => {} }],
});
`,
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  const stack = new PulumiStack({ stack: `bench-floor-${pack}` });
  try {
    await stack.init();
    const seconds: number[] = [];
    for (let i = 0; i <= updates; i++) {
      const result = await stack.run(
        [
          "up",
          "--yes",
          "--message",
          `bench floor ${i}`,
          "--stack",
          stack.stack,
          "--config-file",
          stack.configFile,
          ...(pack === "with" ? ["--policy-pack", packDir] : []),
        ],
        { cwd: programDir },
      );
      if (result.code !== 0) throw new Error(`floor pulumi up failed:\n${result.stdout}\n${result.stderr}`);
      if (i > 0) seconds.push(result.seconds);
    }
    return seconds;
  } finally {
    stack.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (
    platformName !== "kubernetes" &&
    spawnSync(platformName === "ecs" ? "aws" : "docker", ["--version"]).status !== 0
  ) {
    throw new Error(
      platformName === "ecs" ? "the aws CLI is missing: pip install awscli" : "docker CLI missing",
    );
  }
  if (modes.includes("compiled")) {
    const build = spawnSync(process.execPath, ["scripts/build-program.js"], { stdio: "inherit" });
    if (build.status !== 0) throw new Error("npm run build:program failed");
  }
  const redis = await startRedis();
  const platform =
    platformName === "ecs"
      ? await ecsPlatform()
      : platformName === "compose"
        ? await composePlatform()
        : await kubernetesPlatform();
  const rows: WindowRow[] = [];
  /** Per pack: the floor's `pulumi up` wall times, and how many dynamic resources it had. */
  const floors = new Map<Pack, { seconds: number[]; count: number }>();
  try {
    for (let i = 0; i < runs; i++) {
      for (const phase of ["shutdown", "running"] as const) {
        rows.push(
          summarise("seed script", phase, await observe(platform, phase, () => platform.script(phase))),
        );
      }
      for (const mode of modes) {
        for (const pack of packs) {
          const count = await programWindow(platform, redis, mode, pack, rows, true);
          if (mode !== modes[modes.length - 1]) continue;
          // Two updates, as a window is two (shutdown and startup).
          const floor = floors.get(pack) ?? { seconds: [], count };
          floor.seconds.push(...(await floorUpdates(count, pack, 2)));
          floors.set(pack, floor);
        }
      }
    }
  } finally {
    await platform.stop();
    await redis.stop();
  }
  const f = (n: number) => n.toFixed(2);
  console.log(`\nwindow on ${platform.name}, ${ORDER.length} services, ${runs} run(s); seconds\n`);
  console.log(
    "| method | phase | wall | platform's own wait | launch -> first step | per step (gates excluded) | last step -> exit | launch -> platform settled | gates |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.method} | ${r.phase} | ${f(r.wall)} | ${f(r.platformWait)} | ${f(r.start)} | ${f(r.perStep)} | ${f(r.tail)} | ${f(r.settled)} | ${f(r.gates)} |`,
    );
  }
  const mean = (method: string, key: keyof WindowRow) => {
    const xs = rows.filter((r) => r.method === method).map((r) => r[key] as number);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const seed = mean("seed script", "perStep");
  for (const mode of modes) {
    for (const pack of packs) {
      const method = `${MODE_LABEL[mode]}, ${PACK_LABEL[pack]}`;
      const fixed = mean(method, "start") + mean(method, "tail");
      const floor = floors.get(pack);
      const floorMean = floor ? floor.seconds.reduce((a, b) => a + b, 0) / floor.seconds.length : NaN;
      console.log(
        `${method}: per-step overhead vs the seed script ${f(mean(method, "perStep") - seed)} s; ` +
          `fixed cost (launch + exit) ${f(fixed)} s vs ${f(mean("seed script", "start") + mean("seed script", "tail"))} s ` +
          `(seed script), ${f(floorMean)} s (floor: ${floor?.count} no-op dynamic resources, ${PACK_LABEL[pack]}, ` +
          `updates ${floor?.seconds.map(f).join(", ")} s): ${f(fixed / floorMean)}x the floor`,
      );
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
