/**
 * The Pulumi CLI's own dynamic-provider host (@pulumi/pulumi cmd/dynamic-provider/index.js),
 * started as the engine starts it and called over gRPC as the engine calls it: each request
 * carries the provider's serialized text as `__provider` (testkit/runSerialized.ts
 * `serializeAll`), the host loads it with `requireFromString` and answers. What a test sees is
 * what the engine gets: the error's message (the operator's `error:` line) and what the host
 * printed on stderr, which the engine shows too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fromPulumi, PULUMI_DIR, type Any } from "./pulumiInternals";
import { stopProcess } from "./servers/localServers";
import { PROJECT_ROOT } from "./projectRoot";

const grpc = fromPulumi("@grpc/grpc-js");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb.js");
const provrpc = fromPulumi("./proto/provider_grpc_pb");
const provproto = fromPulumi("./proto/provider_pb");
const HOST = path.join(PULUMI_DIR, "cmd", "dynamic-provider", "index.js");

export type Method = "check" | "diff" | "create" | "read" | "update" | "delete";

export interface HostAnswer {
  /** The call returned; `failures` are check failures (the engine prints each as a problem with the resource). */
  ok: boolean;
  failures: Array<{ property: string; reason: string }>;
  /** The error's message as the engine gets it. */
  error?: string;
  /** What the host printed on stderr during the call. */
  stderr: string;
}

export interface CallRequest {
  /** The provider's serialized text. */
  provider: string;
  id?: string;
  /** check and diff: the previous inputs / state; update: the previous state. */
  olds?: Record<string, unknown>;
  /** check, diff, update: the new inputs; create, read, delete: the properties. */
  news: Record<string, unknown>;
}

export interface ProviderHost {
  /** The stack config the engine hands the host before the first call. */
  configure(config: Record<string, string>): Promise<void>;
  call(method: Method, request: CallRequest): Promise<HostAnswer>;
  stop(): Promise<void>;
}

const URN = "urn:pulumi:test::tines-maintenance::pulumi-nodejs:dynamic:Resource::under-test";

/** Each request type, and where the inputs go in it. */
const REQUESTS: Record<Method, { type: string; id?: boolean; olds?: boolean; news: "News" | "Properties" }> =
  {
    check: { type: "CheckRequest", olds: true, news: "News" },
    diff: { type: "DiffRequest", id: true, olds: true, news: "News" },
    create: { type: "CreateRequest", news: "Properties" },
    read: { type: "ReadRequest", id: true, news: "Properties" },
    update: { type: "UpdateRequest", id: true, olds: true, news: "News" },
    delete: { type: "DeleteRequest", id: true, news: "Properties" },
  };

/**
 * Starts the host with `env` (e.g. KUBECONFIG) beside this process's environment, in `cwd` (the
 * engine starts it in the project's directory).
 */
export async function startProviderHost(
  env: Record<string, string> = {},
  cwd: string = PROJECT_ROOT,
): Promise<ProviderHost> {
  // The engine's address: the host's liveness watch probes it, so it must accept connections.
  const engine = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
  const address = engine.address() as net.AddressInfo;
  const host: ChildProcess = spawn(process.execPath, [HOST, `127.0.0.1:${address.port}`], {
    cwd,
    env: { ...process.env, ...env },
    // stdin stays open, as the engine keeps it: its end tells the host the engine is gone.
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  host.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    host.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(line[1]);
    });
    host.once("exit", (code) => reject(new Error(`dynamic-provider host exited with ${code}: ${stderr}`)));
  });
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const struct = (value: Record<string, unknown>) => Struct.fromJavaScript(value);
  const send = (rpc: string, request: Any) =>
    new Promise<Any>((resolve, reject) =>
      client[rpc](request, (error: Any, response: Any) => (error ? reject(error) : resolve(response))),
    );

  /** The engine's request for `method`: the provider's text rides along in the properties, as `__provider`. */
  const request = (method: Method, r: CallRequest) => {
    const shape = REQUESTS[method];
    const req = new provproto[shape.type]();
    req.setUrn(URN);
    if (shape.id) req.setId(r.id ?? "under-test");
    // check's olds are the previous inputs, which the engine sends without the provider.
    if (shape.olds)
      req.setOlds(struct(method === "check" ? { ...r.olds } : { ...r.olds, __provider: r.provider }));
    req[`set${shape.news}`](struct({ ...r.news, __provider: r.provider }));
    return req;
  };

  return {
    async configure(config) {
      const req = new provproto.ConfigureRequest();
      req.setArgs(struct(config));
      await send("configure", req);
    },
    async call(method, call) {
      const before = stderr.length;
      try {
        const response = await send(method, request(method, call));
        const failures =
          method === "check"
            ? response
                .getFailuresList()
                .map((f: Any) => ({ property: f.getProperty(), reason: f.getReason() }))
            : [];
        return { ok: true, failures, stderr: stderr.slice(before) };
      } catch (error) {
        // What the engine reports: the gRPC status message the host set from the thrown error.
        const details = (error as { details?: string }).details ?? String(error);
        return { ok: false, failures: [], error: details, stderr: stderr.slice(before) };
      }
    },
    async stop() {
      client.close();
      host.stdin!.end();
      await stopProcess(host, 5_000);
      await new Promise((resolve) => engine.close(resolve));
    },
  };
}
