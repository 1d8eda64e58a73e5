/** node-postgres sessions with one-line, password-free connection errors. */
import type { Client } from "pg";
import { MaintenanceError } from "../errors";
import { redactSecrets } from "../redact";
import { pgClientConfig, type PgTarget } from "./connection";

export async function connect(target: PgTarget, role: string): Promise<Client> {
  // Loaded on first use: every `pulumi up` loads this module, few connect to PostgreSQL.
  const pg = require("pg") as typeof import("pg");
  const client = new pg.Client(pgClientConfig(target));
  // An idle session that the server drops must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    const err = error as Error & { code?: string };
    const why = redactSecrets(err.message || err.code || String(error), [target.password]);
    const wrapped = new MaintenanceError(
      `cannot connect to the ${role} ${target.display}: ${why}`,
    ) as MaintenanceError & {
      code?: string;
    };
    wrapped.code = err.code;
    throw wrapped;
  }
}

/** Run `work` on `concurrency` sessions at once over `items`, preserving order of results. */
export async function poolMap<T, R>(
  items: T[],
  concurrency: number,
  work: (item: T, worker: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async (_, worker) => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index], worker);
      }
    }),
  );
  return results;
}
