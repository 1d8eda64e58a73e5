/**
 * A list scheduler for the copy: tasks with dependencies and a cost estimate run on a fixed
 * number of slots (one per core the copy may use). Whenever a slot is free it takes the
 * ready task with the longest remaining chain (its cost plus the longest chain of tasks
 * waiting on it), so the critical path (the largest table's rows, then its slowest index)
 * starts first and cheap independent work (checksums, ANALYZE) fills the gaps.
 */
import { MaintenanceError } from "../errors";

export interface Task {
  id: string;
  /** Estimated work, in any unit common to all tasks (bytes read, roughly). */
  cost: number;
  /** Ids of tasks that must finish first. */
  after: string[];
  run(slot: number): Promise<void>;
}

/** Longest chain from each task to the end, itself included. */
export function chainLengths(tasks: Task[]): Map<string, number> {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const successors = new Map<string, string[]>(tasks.map((t) => [t.id, []]));
  for (const task of tasks) {
    for (const dep of task.after) {
      if (!byId.has(dep)) throw new MaintenanceError(`copy plan: ${task.id} waits on unknown ${dep}`);
      successors.get(dep)!.push(task.id);
    }
  }
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const length = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new MaintenanceError(`copy plan: ${id} waits on itself`);
    visiting.add(id);
    const rest = Math.max(0, ...successors.get(id)!.map(length));
    visiting.delete(id);
    const value = byId.get(id)!.cost + rest;
    memo.set(id, value);
    return value;
  };
  for (const task of tasks) length(task.id);
  return memo;
}

/**
 * Run every task on `slots` slots. The first failure stops new starts; running tasks are
 * awaited and the failure is rethrown.
 */
export async function runTasks(tasks: Task[], slots: number): Promise<void> {
  const rank = chainLengths(tasks);
  const waiting = new Map(tasks.map((t) => [t.id, new Set(t.after)]));
  const pending = new Set(tasks.map((t) => t.id));
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const freeSlots = Array.from({ length: Math.max(1, slots) }, (_, i) => i);
  const running = new Set<Promise<void>>();
  let failure: unknown;

  const ready = (): Task | undefined => {
    let best: Task | undefined;
    for (const id of pending) {
      if (waiting.get(id)!.size > 0) continue;
      if (!best || rank.get(id)! > rank.get(best.id)!) best = byId.get(id);
    }
    return best;
  };

  while (pending.size > 0 && failure === undefined) {
    let task: Task | undefined;
    while (failure === undefined && freeSlots.length > 0 && (task = ready())) {
      const slot = freeSlots.shift()!;
      const started = task;
      pending.delete(started.id);
      const promise: Promise<void> = started
        .run(slot)
        .then(
          () => {
            for (const set of waiting.values()) set.delete(started.id);
          },
          (error: unknown) => {
            failure ??= error;
          },
        )
        .finally(() => {
          freeSlots.push(slot);
          freeSlots.sort((a, b) => a - b);
          running.delete(promise);
        });
      running.add(promise);
    }
    if (running.size === 0) {
      if (failure === undefined && pending.size > 0)
        throw new MaintenanceError(`copy plan: ${[...pending].slice(0, 3).join(", ")} can never start`);
      break;
    }
    await Promise.race(running);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
}
