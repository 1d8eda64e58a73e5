import net from "node:net";
import { describe, expect, it } from "vitest";
import { engineLiveness, watchEngine } from "./engineLiveness";

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

describe("engine liveness of a dynamic-provider host", () => {
  it("stays quiet while the engine answers, aborts and exits once it stops accepting connections", async () => {
    const { server, address } = await listen();
    const exits: number[] = [];
    const liveness = watchEngine({
      engineAddress: address,
      probeIntervalMs: 50,
      watchStdin: false,
      exit: (c) => exits.push(c),
    });
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
    const exits: number[] = [];
    const liveness = watchEngine({
      engineAddress: address,
      probeIntervalMs: 50,
      watchStdin: false,
      exit: (c) => exits.push(c),
    });
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

  it("outside the dynamic-provider host it never aborts nor exits (tests, the CLI)", async () => {
    const liveness = engineLiveness();
    expect(liveness.signal.aborted).toBe(false);
    expect(await liveness.track(async () => 42)).toBe(42);
    expect(engineLiveness()).toBe(liveness);
  });
});
