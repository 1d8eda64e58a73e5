/**
 * The policy pack as the Pulumi CLI runs it: `@pulumi/pulumi/cmd/run-policy-pack` in the
 * pack's directory (ts-node, type-checked), serving the Analyzer gRPC service on loopback.
 * The engine's AnalyzeStack call is made here with the stacks the real program registers
 * (index.ts under Pulumi mocks, testkit/programStacks.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { COMPONENT_TYPES, ENDPOINT_SWITCH_NAME, GATE_TYPES } from "../lib/plan/names";
import { combinationConfig, programStack, wireStruct, type EngineResource } from "../testkit/programStacks";
import { fromPulumi, type Any } from "../testkit/pulumiInternals";

// Under vitest's transform the database gates' providers cannot be serialized, and mocks
// never call a provider: every gate gets a stand-in.
vi.mock("../components/provider/defineProvider", async (original) =>
  (await import("../testkit/mocks")).withStandInProviders(await original()),
);

const grpc = fromPulumi("@grpc/grpc-js");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb.js");
const analyzerPb = fromPulumi("@pulumi/pulumi/proto/analyzer_pb");
const { AnalyzerClient } = fromPulumi("@pulumi/pulumi/proto/analyzer_grpc_pb");

const PACK_DIR = __dirname;
let pack: ChildProcess;
let client: Any;
let stderr = "";

beforeAll(async () => {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK_DIR] });
  pack = spawn(process.execPath, [runner, "127.0.0.1:1", PACK_DIR], { cwd: PACK_DIR, stdio: "pipe" });
  pack.stderr!.on("data", (chunk) => (stderr += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    pack.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const line = /^(\d+)\n/.exec(stdout);
      if (line) resolve(Number(line[1]));
    });
    pack.once("exit", (code) =>
      reject(new Error(`policy pack exited with ${code} before serving: ${stderr}`)),
    );
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
  client?.close();
  pack?.kill();
});

function call<T>(method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    client[method](request, (error: Error | null, response: T) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

interface Diagnostic {
  policy: string;
  message: string;
  urn: string;
  mandatory: boolean;
}

/** The request the engine builds (step_generator.go AnalyzeResources): outputs, parent, dependency URNs. */
async function analyzeStack(resources: EngineResource[]): Promise<Diagnostic[]> {
  const request = new analyzerPb.AnalyzeStackRequest();
  request.setResourcesList(
    resources.map((r) => {
      const resource = new analyzerPb.AnalyzerResource();
      resource.setType(r.type);
      resource.setName(r.name);
      resource.setUrn(r.urn);
      resource.setProperties(wireStruct(r.outputs));
      const options = new analyzerPb.AnalyzerResourceOptions();
      if (r.parent) {
        resource.setParent(r.parent);
        options.setParent(r.parent);
      }
      resource.setOptions(options);
      resource.setDependenciesList(r.dependencies);
      return resource;
    }),
  );
  const response: Any = await call("analyzeStack", request);
  return response.getDiagnosticsList().map((d: Any) => ({
    policy: d.getPolicyname(),
    message: d.getMessage(),
    urn: d.getUrn(),
    mandatory: d.getEnforcementlevel() === analyzerPb.EnforcementLevel.MANDATORY,
  }));
}

describe("policy pack served as the Pulumi CLI runs it", () => {
  it("announces its three stack policies, all mandatory", async () => {
    const info: Any = await call("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("tines-maintenance-seed-rules");
    expect(info.getVersion()).toBe("0.1.0");
    const policies = info.getPoliciesList().map((p: Any) => [p.getName(), p.getEnforcementlevel()]);
    expect(policies).toEqual([
      ["no-app-without-data-stores", analyzerPb.EnforcementLevel.MANDATORY],
      ["endpoint-change-only-in-shutdown", analyzerPb.EnforcementLevel.MANDATORY],
      ["steps-in-seed-order", analyzerPb.EnforcementLevel.MANDATORY],
    ]);
  });

  it("passes the stacks the program builds, in both phases, with endpoints set", async () => {
    // Before the fix the running-phase record of the endpoint switch was refused here.
    for (const [phase, platform, preview] of [
      ["shutdown", "ecs", false],
      ["running", "compose", true],
      ["running", "kubernetes", false],
    ] as const) {
      const stack = await programStack(
        combinationConfig(phase, platform, ["sidekiq", "backup", "migration", "endpoints"]),
        { preview, skipComponentInputs: true },
      );
      expect(await analyzeStack(stack.resources), `${phase} ${platform}`).toEqual([]);
    }
  });

  it("fails an update that breaks the seed's rules, naming the resource at fault", async () => {
    const { resources } = await programStack(combinationConfig("running", "ecs", ["sidekiq", "endpoints"]), {
      preview: true,
      skipComponentInputs: true,
    });
    const named = (name: string, type: string = COMPONENT_TYPES.serviceStep) =>
      resources.find((r) => r.name === name && r.type === type)!;
    // An edited program: tines-app does not wait, redis is held at 0, the record may write.
    for (const r of resources.filter((r) => r.name === "tines-app")) r.dependencies = [];
    for (const r of resources.filter((r) => r.name === "redis")) {
      if ("desiredCount" in r.outputs) r.outputs.desiredCount = 0;
      if ("targetCount" in r.outputs) r.outputs.targetCount = 0;
    }
    delete named(ENDPOINT_SWITCH_NAME, GATE_TYPES[ENDPOINT_SWITCH_NAME].component).outputs.refusal;
    const diagnostics = await analyzeStack(resources);
    expect(diagnostics).toEqual([
      {
        policy: "no-app-without-data-stores",
        message: expect.stringContaining("tines-app is scaled to 2 while redis is scaled to 0"),
        urn: expect.stringMatching(/::tines-app$/),
        mandatory: true,
      },
      {
        policy: "no-app-without-data-stores",
        message: expect.stringContaining("tines-sidekiq is scaled to 3 while redis is scaled to 0"),
        urn: expect.stringMatching(/::tines-sidekiq$/),
        mandatory: true,
      },
      {
        policy: "endpoint-change-only-in-shutdown",
        message: expect.stringContaining(
          "endpoint-switch may change DATABASE_HOST / REDIS_URL while the phase is running",
        ),
        urn: named(ENDPOINT_SWITCH_NAME, GATE_TYPES[ENDPOINT_SWITCH_NAME].component).urn,
        mandatory: true,
      },
      {
        policy: "steps-in-seed-order",
        message: expect.stringContaining("tines-app does not wait for tines-sidekiq"),
        urn: named("tines-app").urn,
        mandatory: true,
      },
    ]);
  });
});
