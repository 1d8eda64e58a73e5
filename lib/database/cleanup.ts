/**
 * What a database step leaves on disk or running must go on every way out: a normal return,
 * an exception, SIGINT, SIGTERM or SIGHUP. Paths and child processes registered here are
 * removed (and killed) by `release()`, and by a signal handler that then lets the signal end
 * the process as it would have. SIGKILL cannot be caught; that is why no password is ever
 * written to disk (children get theirs through their environment).
 *
 * The registry lives on `globalThis`, not in a module variable: this code also runs inside
 * Pulumi dynamic providers, whose serialization copies module variables by value.
 */
import { rmSync } from "node:fs";
import type { ChildProcess } from "node:child_process";

interface Registry {
  paths: Set<string>;
  children: Set<ChildProcess>;
  /** The signal listeners, while installed. */
  handlers?: Record<string, () => void>;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function registry(): Registry {
  const holder = globalThis as { __tinesMaintenanceCleanup?: Registry };
  holder.__tinesMaintenanceCleanup ??= { paths: new Set(), children: new Set() };
  return holder.__tinesMaintenanceCleanup;
}

function removeEverything(): void {
  const r = registry();
  for (const child of r.children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
  r.children.clear();
  for (const p of r.paths) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      // See removeOnExit.
    }
  }
  r.paths.clear();
}

function install(): void {
  const r = registry();
  if (r.handlers) return;
  const handlers: Record<string, () => void> = {};
  r.handlers = handlers;
  process.on("exit", removeEverything);
  for (const signal of SIGNALS) {
    handlers[signal] = () => {
      removeEverything();
      for (const s of SIGNALS) process.removeListener(s, handlers[s]);
      process.removeListener("exit", removeEverything);
      r.handlers = undefined;
      // Nobody else listening: end the process the way the signal would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handlers[signal]);
  }
}

/** Remove `target` (file or directory) on release or on any way out of the process. */
export function removeOnExit(target: string): () => void {
  install();
  registry().paths.add(target);
  return () => {
    registry().paths.delete(target);
    try {
      rmSync(target, { recursive: true, force: true });
    } catch {
      // Nothing there to remove (its directory is missing or not a directory): what failed
      // before this clean-up is what the operator needs to read, not ENOTDIR on the way out.
    }
  };
}

/** Kill `child` if the process is interrupted while it runs. */
export function killOnExit(child: ChildProcess): void {
  install();
  const r = registry();
  r.children.add(child);
  child.once("exit", () => r.children.delete(child));
}
