/** node-postgres sessions with one-line, password-free connection errors. */
import type { Client } from "pg";
import { MaintenanceError, isMaintenanceError } from "../errors";
import { redactSecrets } from "../redact";
import { pgClientConfig, type PgTarget } from "./connection";
import { currentOperation, throwIfStopped } from "./operation";

/**
 * A session on `target`, named after the running operation (operation.ts) so that an abort
 * can close it and end its server process. On PostgreSQL 14+ the server also checks every
 * second, during a long statement, that we are still there (client_connection_check_interval):
 * a process that dies without closing its sessions leaves no CREATE INDEX running for hours.
 */
export async function connect(target: PgTarget, role: string): Promise<Client> {
  throwIfStopped(`connecting to the ${role}`);
  const operation = currentOperation();
  // Loaded on first use: every `pulumi up` loads this module, few connect to PostgreSQL.
  const pg = require("pg") as typeof import("pg");
  const client = new pg.Client(pgClientConfig(target, operation?.tag));
  // An idle session that the server drops must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query(
      "SELECT set_config('client_connection_check_interval', '1000', false) WHERE current_setting('server_version_num')::int >= 140000",
    );
    if (operation) {
      operation.clients.add(client);
      client.once("end", () => operation.clients.delete(client));
      // Aborted while connecting: this session goes too.
      if (operation.signal?.aborted) await client.end().catch(() => undefined);
      throwIfStopped(`connecting to the ${role}`);
    }
    return client;
  } catch (error) {
    if (isMaintenanceError(error)) throw error;
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
