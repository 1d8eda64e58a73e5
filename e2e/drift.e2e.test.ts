/**
 * Drift between windows, under the real Pulumi CLI with ECS on moto: someone runs
 * `aws ecs update-service --desired-count` by hand. `pulumi preview --refresh` shows it without
 * changing anything, and `pulumi up --refresh` puts the service back to what the stack says for
 * the phase. The AWS region comes only from `aws:region` in the stack config (no `ecs.region`,
 * no AWS_REGION), so this also proves the stack's AWS settings reach the providers through the
 * engine's configure request.
 */
import { UpdateServiceCommand, ECSClient } from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMoto, type RunningServer } from "../testkit/servers/localServers";
import { createEcsServices, ecsDesiredCounts, type MotoEcs } from "../testkit/motoEcs";
import { PulumiStack, type CliResult } from "../testkit/pulumiCli";

const COUNTS = { "tines-app": 3, "tines-command-runner": 2 };
const CLUSTER = "tines-drift";
/** moto keeps ECS per region: the services exist only in this one. */
const REGION = "eu-west-2";

function text(result: CliResult): string {
  return result.stdout + result.stderr;
}

describe("drift: a count changed by hand between windows (ECS on moto, real Pulumi CLI)", () => {
  let moto: RunningServer;
  let ecs: MotoEcs;
  let stack: PulumiStack;

  async function setByHand(service: string, desiredCount: number): Promise<void> {
    const client = new ECSClient({
      endpoint: ecs.endpoint,
      region: REGION,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    await client.send(new UpdateServiceCommand({ cluster: CLUSTER, service, desiredCount }));
  }

  beforeAll(async () => {
    moto = await startMoto();
    ecs = { endpoint: moto.url, region: REGION, cluster: CLUSTER };
    await createEcsServices(ecs, COUNTS);
    stack = new PulumiStack({
      stack: "drift",
      env: {
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_REGION: "",
        AWS_DEFAULT_REGION: "",
      },
    });
    await stack.init();
    await stack.setConfig({
      "aws:region": REGION,
      phase: "running",
      platform: "ecs",
      "ecs.cluster": CLUSTER,
      "ecs.endpoint": moto.url,
      ...Object.fromEntries(Object.entries(COUNTS).map(([key, count]) => [`services.${key}`, count])),
      stepTimeoutSeconds: 60,
    });
    const first = await stack.up("drift: adopt the running services");
    expect(first.code, text(first)).toBe(0);
  });

  afterAll(async () => {
    await moto?.stop();
    if (stack && !process.env.E2E_KEEP) stack.remove();
  });

  it("running: preview --refresh shows a hand-made 3 -> 5 as an update back to 3 and changes nothing", async () => {
    await setByHand("tines-app", 5);
    const plain = await stack.preview();
    expect(plain.code, text(plain)).toBe(0);
    // Without a refresh the state still says 3: Pulumi cannot see the change.
    expect(plain.stdout).not.toMatch(/\(update\)\s*\n\s*\[id=tines-drift\/tines-app\]/);

    const refreshed = await stack.preview(["--refresh"]);
    expect(refreshed.code, text(refreshed)).toBe(0);
    // The refresh shows what changed by hand, then the update shows the way back.
    expect(refreshed.stdout).toMatch(/\(refresh\)[\s\S]*::tines-app\][\s\S]*desiredCount\s*:\s*3\s*=>\s*5/);
    expect(refreshed.stdout).toMatch(/\(update\)\s*\n\s*\[id=tines-drift\/tines-app\]/);
    expect(refreshed.stdout).toMatch(/desiredCount\s*:\s*5\s*=>\s*3/);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual({ ...COUNTS, "tines-app": 5 });
  });

  it("running: up --refresh puts the configured count back", async () => {
    const result = await stack.up("drift: restore", ["--refresh"]);
    expect(result.code, text(result)).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual(COUNTS);
  });

  it("shutdown: a service started by hand during the window is shown and stopped again by up --refresh", async () => {
    await stack.setConfig({ phase: "shutdown" });
    const down = await stack.up("drift: shutdown");
    expect(down.code, text(down)).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });

    await setByHand("tines-command-runner", 1);
    const preview = await stack.preview(["--refresh"]);
    expect(preview.code, text(preview)).toBe(0);
    expect(preview.stdout).toMatch(/\(update\)\s*\n\s*\[id=tines-drift\/tines-command-runner\]/);
    expect(preview.stdout).toMatch(/desiredCount\s*:\s*1\s*=>\s*0/);
    expect(await ecsDesiredCounts(ecs, ["tines-command-runner"])).toEqual({ "tines-command-runner": 1 });

    const again = await stack.up("drift: stop it again", ["--refresh"]);
    expect(again.code, text(again)).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual({
      "tines-app": 0,
      "tines-command-runner": 0,
    });
  });

  it("startup after a hand-made change during the window restores the configured counts", async () => {
    await setByHand("tines-app", 7);
    await stack.setConfig({ phase: "running" });
    const up = await stack.up("drift: startup", ["--refresh"]);
    expect(up.code, text(up)).toBe(0);
    expect(await ecsDesiredCounts(ecs, Object.keys(COUNTS))).toEqual(COUNTS);
  });
});
