/**
 * The database components as the program registers them, under Pulumi mocks in preview
 * mode: preview (check/diff of the providers) touches no server. A migration that would run
 * while services are up is refused by config validation (test/program.test.ts).
 */
import { describe, expect, it, vi } from "vitest";
import { parseDatabaseConfig } from "../../lib/database/config";
import { isWireSecret, mockEngine } from "../../testkit/mocks";
import { DatabaseBackup } from "./databaseBackup";
import { DatabaseMigration } from "./databaseMigration";

vi.mock("../provider/defineProvider", async (original) =>
  (await import("../../testkit/mocks")).withStandInProviders(await original()),
);

// Port 1 on loopback: any attempt to connect would fail loudly, so passing proves no connection was tried.
const SOURCE = "postgresql://tines:0ldPass@127.0.0.1:1/tines";
const TARGET = "postgresql://tines:N3wPass@127.0.0.1:1/tines_new";

describe("database components", () => {
  const database = parseDatabaseConfig({
    url: SOURCE,
    backup: { directory: "/var/backups/tines" },
    migration: { targetUrl: TARGET, jobs: 2 },
  })!;

  it("register database-backup and database-migration at preview without touching a server", async () => {
    // Preview: the engine calls the real providers' check and diff, and nothing else.
    const engine = mockEngine({
      preview: true,
      stack: "dev",
      consult: {
        types: ["pulumi-nodejs:dynamic/database:Backup", "pulumi-nodejs:dynamic/database:Migration"],
        previous: { inputs: {}, outputs: { trigger: "", destination: "", target: "" } },
      },
    });
    {
      const backup = new DatabaseBackup("database-backup", {
        url: database.url,
        backup: database.backup,
        stack: "dev",
        phase: "shutdown",
        runId: "run-1",
        windowStartedAt: "2026-12-07T13:00:00.000Z",
      });
      new DatabaseMigration(
        "database-migration",
        {
          sourceUrl: database.url,
          migration: database.migration!,
          stack: "dev",
          windowStartedAt: "2026-12-07T13:00:00.000Z",
        },
        { dependsOn: [backup] },
      );
    }
    await engine.settled();
    const registrations = engine.registrations;
    expect(engine.errors).toEqual([]);
    expect(registrations.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "pulumi-nodejs:dynamic/database:Backup database-backup",
      "pulumi-nodejs:dynamic/database:Migration database-migration",
      "tines-maintenance:index:DatabaseBackup database-backup",
      "tines-maintenance:index:DatabaseMigration database-migration",
    ]);
    const migration = registrations.find((r) => r.type.endsWith("database:Migration"))!;
    // The URLs reach the engine only as secrets.
    expect(isWireSecret(migration.wire.sourceUrl) && isWireSecret(migration.wire.targetUrl)).toBe(true);
    const backup = registrations.find((r) => r.type.endsWith("database:Backup"))!;
    expect(isWireSecret(backup.wire.url)).toBe(true);
    expect(migration.inputs).toMatchObject({
      jobs: 2,
      allowNonEmptyTarget: false,
      noOwner: false,
      checksumMaxTableMiB: 10240,
    });
  });
});
