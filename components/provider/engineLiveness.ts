/**
 * The Pulumi engine starts each plugin, the Node dynamic-provider host included, in a process
 * group of its own, so a SIGKILL of `pulumi up` (a killed CI job) does not reach it: the
 * provider would go on polling until its step's own timeout, and then idle forever, with
 * nobody left to answer. This notices that the engine is gone, by three independent signs:
 *  - the provider's stdin, a pipe whose only writer is the engine, reaches end-of-file;
 *  - a write to stdout/stderr (pipes read by the engine) fails with EPIPE;
 *  - the engine's gRPC address (the host's first argument) stops accepting connections.
 * Then it aborts the waits and long steps (they take `signal`), lets the calls already made
 * finish (a stop or start request sent to the platform completes; no step is left half-sent;
 * a migration stops its copy, closes its sessions and removes its files), and exits; a call
 * still running GRACE_MS after the engine's death no longer holds the exit (the process's
 * exit handlers stop its child processes and remove its temp files, lib/database/cleanup.ts).
 *
 * It also hears the engine's Cancel call, the first Ctrl-C of `pulumi up`: the Node host
 * answers Cancel without telling its providers (@pulumi/pulumi cmd/dynamic-provider, where
 * `cancel` does nothing), so the running step would go on until it ends by itself. The call's
 * path is read on the host's own HTTP/2 server, beside grpc-js, which still answers it. A
 * Cancel aborts `signal` as well, but the host stays: the engine is alive and ends it.
 * Nothing here runs outside the dynamic-provider host: tests and the CLI are never exited.
 */
import fs from "node:fs";
import net from "node:net";

export interface EngineLiveness {
  /** Aborted once the engine is gone. */
  readonly signal: AbortSignal;
  /** Runs `work` as one provider call: the process exits only once no call is running. */
  track<T>(work: () => Promise<T>): Promise<T>;
}

export interface WatchOptions {
  /** Watch stdin for end-of-file (default true; only when it is a pipe). */
  watchStdin?: boolean;
  /** host:port of the engine; by default the host's first argument. */
  engineAddress?: string;
  probeIntervalMs?: number;
  /** How long a running call may hold the exit once the engine is gone (default GRACE_MS). */
  graceMs?: number;
  /** Listen for the engine's Cancel call on this process's gRPC server (default true). */
  watchCancel?: boolean;
  exit?: (code: number) => void;
}

/** A call that has not ended this long after the engine's death does not keep the host alive. */
export const GRACE_MS = 10_000;

/** The reasons `signal` carries, for the messages of what it stops. */
export const ENGINE_GONE = "the Pulumi engine that ran this update is gone (pulumi was killed)";
export const UPDATE_CANCELLED = "the update was cancelled (Ctrl-C)";

const CANCEL_PATH = "/pulumirpc.ResourceProvider/Cancel";

/**
 * Calls `onCancel` when the engine sends Cancel to this provider host. Returns whether a gRPC
 * server was found to listen on (grpc-js serves over a Node HTTP/2 server, a net.Server).
 */
export function onCancelCall(onCancel: () => void): boolean {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  if (typeof handles !== "function") return false;
  let found = false;
  for (const handle of handles.call(process)) {
    if (!(handle instanceof net.Server) || handle.listenerCount("stream") === 0) continue;
    handle.on("stream", (_stream: unknown, headers: Record<string, unknown>) => {
      if (headers[":path"] === CANCEL_PATH) onCancel();
    });
    found = true;
  }
  return found;
}

/** `node .../@pulumi/pulumi/cmd/dynamic-provider/index.js <engine address>`. */
function runningAsProviderHost(): boolean {
  return /[\\/]cmd[\\/]dynamic-provider([\\/]|$)/.test(process.argv[1] ?? "");
}

function probe(address: string, timeoutMs: number): Promise<boolean> {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) return Promise.resolve(true);
  return new Promise((resolve) => {
    const socket = net.connect({ host: match[1], port: Number(match[2]) });
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(timeoutMs, () => done(true));
    socket.once("connect", () => done(true));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code !== "ECONNREFUSED"));
  });
}

/** The process-wide watch, started by the first provider call in the dynamic-provider host. */
export function engineLiveness(): EngineLiveness {
  // On globalThis: every serialized provider carries its own copy of this module, one process runs them all.
  const key = Symbol.for("tines-maintenance.engineLiveness");
  const store = globalThis as unknown as Record<symbol, EngineLiveness | undefined>;
  const existing = store[key];
  if (existing) return existing;
  const liveness = runningAsProviderHost()
    ? watchEngine()
    : { signal: new AbortController().signal, track: <T>(work: () => Promise<T>) => work() };
  store[key] = liveness;
  return liveness;
}

/** Watches the engine from now on; `exit` is called once it is gone and no tracked call runs. */
export function watchEngine(options: WatchOptions = {}): EngineLiveness {
  const controller = new AbortController();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running = 0;
  let engineGone = false;
  let exited = false;
  const exitNow = () => {
    if (exited) return;
    exited = true;
    exit(1);
  };
  const exitIfIdle = () => {
    if (engineGone && running === 0) exitNow();
  };
  const gone = () => {
    if (engineGone) return;
    engineGone = true;
    if (!controller.signal.aborted) controller.abort(ENGINE_GONE);
    setTimeout(exitNow, options.graceMs ?? GRACE_MS).unref();
    exitIfIdle();
  };
  if (options.watchCancel ?? true) {
    onCancelCall(() => {
      if (!controller.signal.aborted) controller.abort(UPDATE_CANCELLED);
    });
  }

  try {
    if ((options.watchStdin ?? true) && fs.fstatSync(0).isFIFO()) {
      process.stdin.on("end", gone);
      process.stdin.on("close", gone);
      process.stdin.on("error", gone);
      process.stdin.resume();
    }
  } catch {
    // No stdin to watch; the other signs remain.
  }
  // Without a listener each EPIPE is an uncaught error, which the host prints to the dead
  // stderr, which fails again: that loop kept every error and grew the orphan to gigabytes.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") gone();
    });
  }
  const address = options.engineAddress ?? process.argv[2] ?? "";
  let refused = 0;
  const timer = setInterval(() => {
    if (engineGone) return;
    void probe(address, 2000).then((alive) => {
      refused = alive ? 0 : refused + 1;
      if (refused >= 2) gone();
    });
  }, options.probeIntervalMs ?? 5000);
  timer.unref();

  return {
    signal: controller.signal,
    async track(work) {
      running += 1;
      try {
        return await work();
      } finally {
        running -= 1;
        // After the answer to a dead engine has been attempted.
        setImmediate(exitIfIdle);
      }
    },
  };
}
