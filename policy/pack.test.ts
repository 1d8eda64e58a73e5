/**
 * The policy pack as the Pulumi CLI runs it: `@pulumi/pulumi/cmd/run-policy-pack` in the
 * pack's directory (ts-node, type-checked), serving the Analyzer gRPC service on loopback.
 * The engine's AnalyzeStack call is made here with stacks shaped like ours.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackResource } from "./rules";
import { named, stack } from "./testStacks";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
/** The gRPC and protobuf copies @pulumi/pulumi's generated Analyzer client was built against. */
const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromPulumi = (id: string): Any => require(require.resolve(id, { paths: [PULUMI_DIR] }));
const grpc = fromPulumi("@grpc/grpc-js");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
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

async function analyzeStack(resources: StackResource[]): Promise<Diagnostic[]> {
  const request = new analyzerPb.AnalyzeStackRequest();
  request.setResourcesList(
    resources.map((r) => {
      const resource = new analyzerPb.AnalyzerResource();
      resource.setType(r.type);
      resource.setName(r.name);
      resource.setUrn(r.urn);
      resource.setProperties(Struct.fromJavaScript(r.props as Any));
      const options = new analyzerPb.AnalyzerResourceOptions();
      if (r.parent) {
        resource.setParent(r.parent.urn);
        options.setParent(r.parent.urn);
      }
      resource.setOptions(options);
      resource.setDependenciesList(r.dependencies.map((d) => d.urn));
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

  it("passes the stacks the program builds, in both phases", async () => {
    expect(await analyzeStack(stack({ phase: "shutdown", gatesAfter: ["endpoint-switch"] }))).toEqual([]);
    expect(await analyzeStack(stack({ phase: "running", platform: "kubernetes" }))).toEqual([]);
  });

  it("fails an update that breaks the seed's rules, naming the resource at fault", async () => {
    const resources = stack({ phase: "running", counts: { "tines-app": 2, redis: 0, postgres: 1 } });
    resources.push(...stack({ phase: "running", gatesAfter: ["endpoint-switch"] }).slice(-1));
    named(resources, "tines-app").dependencies = [];
    const diagnostics = await analyzeStack(resources);
    expect(diagnostics).toEqual([
      {
        policy: "no-app-without-data-stores",
        message: expect.stringContaining("tines-app is scaled to 2 while redis is scaled to 0"),
        urn: named(resources, "tines-app").urn,
        mandatory: true,
      },
      {
        policy: "endpoint-change-only-in-shutdown",
        message: expect.stringContaining(
          "endpoint-switch changes DATABASE_HOST / REDIS_URL while the phase is running",
        ),
        urn: expect.stringMatching(/::endpoint-switch$/),
        mandatory: true,
      },
      {
        policy: "steps-in-seed-order",
        message: expect.stringContaining("tines-app does not wait for redis"),
        urn: named(resources, "tines-app").urn,
        mandatory: true,
      },
    ]);
  });
});
