import net from "node:net";
import { describe, expect, it } from "vitest";
import { engineLiveness, UPDATE_CANCELLED, ENGINE_GONE, watchEngine } from "./engineLiveness";

const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

/**
 * A gRPC ResourceProvider server as the dynamic-provider host runs one (grpc-js, Cancel
 * answered and otherwise ignored), and a client that calls Cancel as the engine does on the
 * first Ctrl-C of `pulumi up`.
 */
async function providerHost(): Promise<{ cancel(): Promise<void>; stop(): void }> {
  const server = new grpc.Server();
  server.addService(provrpc.ResourceProviderService, {
    cancel: (_call: unknown, callback: (error: null, reply: unknown) => void) => callback(null, new Empty()),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    cancel: () =>
      new Promise<void>((resolve, reject) =>
        client.cancel(new Empty(), (error: Error | null) => (error ? reject(error) : resolve())),
      ),
    stop: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

/** A real listening socket standing for the engine's gRPC address. */
async function listen(): Promise<{ server: net.Server; address: string }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}

const waitFor = async (condition: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return condition();
};

/** The engine at `address` watched every 50 ms (stdin not watched), the exit codes recorded. */
function watched(address: string) {
  const exits: number[] = [];
  const liveness = watchEngine({
    engineAddress: address,
    probeIntervalMs: 50,
    watchStdin: false,
    exit: (c) => exits.push(c),
  });
  return { exits, liveness };
}

describe("engine liveness of a dynamic-provider host", () => {
  it("stays quiet while the engine answers, aborts and exits once it stops accepting connections", async () => {
    const { server, address } = await listen();
    const { exits, liveness } = watched(address);
    await new Promise((r) => setTimeout(r, 300));
    expect(liveness.signal.aborted).toBe(false);
    expect(exits).toEqual([]);

    server.close();
    expect(await waitFor(() => exits.length > 0, 3000)).toBe(true);
    expect(liveness.signal.aborted).toBe(true);
    expect(exits).toEqual([1]);
  });

  it("lets a running call finish before exiting, and the call sees the abort", async () => {
    const { server, address } = await listen();
    const { exits, liveness } = watched(address);
    let finishedAt = 0;
    const call = liveness.track(async () => {
      await new Promise<void>((resolve) => liveness.signal.addEventListener("abort", () => resolve()));
      await new Promise((r) => setTimeout(r, 200));
      finishedAt = Date.now();
      return "done";
    });
    server.close();
    expect(await call).toBe("done");
    expect(exits).toEqual([]);
    expect(await waitFor(() => exits.length > 0, 1000)).toBe(true);
    expect(finishedAt).toBeGreaterThan(0);
  });

  it("hears the engine's Cancel call (first Ctrl-C): aborts the running calls, and the host stays", async () => {
    const { server, address } = await listen();
    const host = await providerHost();
    try {
      const { exits, liveness } = watched(address);
      await new Promise((r) => setTimeout(r, 200));
      expect(liveness.signal.aborted).toBe(false);
      await host.cancel();
      expect(await waitFor(() => liveness.signal.aborted, 2000)).toBe(true);
      expect(liveness.signal.reason).toBe(UPDATE_CANCELLED);
      await new Promise((r) => setTimeout(r, 300));
      expect(exits).toEqual([]);
    } finally {
      host.stop();
      server.close();
    }
  });

  it("once the engine is gone, a call that does not end holds the exit no longer than the grace", async () => {
    const { server, address } = await listen();
    const exits: number[] = [];
    const liveness = watchEngine({
      engineAddress: address,
      probeIntervalMs: 50,
      graceMs: 400,
      watchStdin: false,
      watchCancel: false,
      exit: (c) => exits.push(c),
    });
    void liveness.track(() => new Promise(() => undefined));
    server.close();
    expect(await waitFor(() => liveness.signal.aborted, 3000)).toBe(true);
    expect(liveness.signal.reason).toBe(ENGINE_GONE);
    expect(exits).toEqual([]);
    expect(await waitFor(() => exits.length > 0, 2000)).toBe(true);
    expect(exits).toEqual([1]);
  });

  it("outside the dynamic-provider host it never aborts nor exits (tests, the CLI)", async () => {
    const liveness = engineLiveness();
    expect(liveness.signal.aborted).toBe(false);
    expect(await liveness.track(async () => 42)).toBe(42);
    expect(engineLiveness()).toBe(liveness);
  });
});
