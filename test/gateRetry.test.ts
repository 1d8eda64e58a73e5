/**
 * A gate's pass holds only for the update in which it ran (issue 12, item 6): the real
 * program, run twice with the same config as a retry would, gives every gate a new run
 * id, and each gate's provider then decides to run again. Before, the second run matched
 * the first and a pass from hours earlier was trusted.
 */
import { describe, expect, it, vi } from "vitest";
import { backupDiff, migrationDiff } from "../lib/database/gates";
import { gateDiff } from "../lib/sidekiq/gate";
import { runProgram } from "../testkit/mocks";

// Mocks never call a provider; the database gates' real ones do not serialize under vitest.
vi.mock("../components/provider/defineProvider", async (original) =>
  (await import("../testkit/mocks")).withStandInProviders(await original()),
);

const config = {
  phase: "shutdown",
  platform: "ecs",
  ecs: { cluster: "tines" },
  services: { "tines-app": 2, "tines-sidekiq": 3, postgres: 1 },
  keepRunning: ["postgres"],
  sidekiq: { redisUrl: "redis://127.0.0.1:6379/0" },
  database: {
    url: "postgresql://tines:pw@old-db:5432/tines",
    backup: { directory: "/var/backups/tines" },
    migration: { targetUrl: "postgresql://tines:pw@new-db:5432/tines" },
  },
};

describe("a retried update", () => {
  it("runs sidekiq-preflight, sidekiq-drain and database-backup again; never the migration", async () => {
    const first = await runProgram(config);
    await new Promise((r) => setTimeout(r, 5));
    const retry = await runProgram(config);
    const inputs = (run: typeof first, name: string) => run.find(/^pulumi-nodejs:dynamic\//, name).inputs;

    for (const gate of ["sidekiq-preflight", "sidekiq-drain"]) {
      expect(gateDiff(inputs(first, gate), inputs(retry, gate)).changes, gate).toBe(true);
      // Within one update (preview, then the update itself, same program run) it is stable.
      expect(gateDiff(inputs(retry, gate), inputs(retry, gate)).changes, gate).toBe(false);
    }
    // The backup provider compares with its outputs, which echo trigger and destination.
    const backupOutputs = {
      trigger: inputs(first, "database-backup").trigger,
      destination: "/var/backups/tines",
    };
    expect(backupDiff(backupOutputs, inputs(retry, "database-backup")).changes).toBe(true);
    expect(backupDiff(backupOutputs, inputs(first, "database-backup")).changes).toBe(false);
    // A migration copies once per target: a retry must not restore over the copy.
    const migrationOutputs = { trigger: "", target: "postgresql://tines:***@new-db:5432/tines" };
    expect(migrationDiff(migrationOutputs, inputs(retry, "database-migration")).changes).toBe(false);
  });
});
