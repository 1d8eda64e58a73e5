/**
 * The database components as the program registers them, under Pulumi mocks in preview
 * mode: preview (check/diff of the providers) touches no server. A migration that would run
 * while services are up is refused by config validation (test/program.test.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { parseDatabaseConfig } from "../lib/database/config";
import { checkBackupInputs, checkMigrationInputs } from "../lib/database/gates";
import { DatabaseBackup } from "./databaseBackup";
import { DatabaseMigration } from "./databaseMigration";

// Under vitest's module transform the real database providers do not serialize
// (docs/DEVELOPING.md): the components get stand-ins, and the mock engine calls the real
// check/diff, built from the same gate specs, as preview does.
const real = vi.hoisted(() => new Map<unknown, import("@pulumi/pulumi").dynamic.ResourceProvider>());
vi.mock("./resources/gateProvider", async (original) => {
  const actual = await original<typeof import("./resources/gateProvider")>();
  return {
    ...actual,
    gateProvider: (spec: Parameters<typeof actual.gateProvider>[0]) => {
      real.set(spec.check, actual.gateProvider(spec));
      return { create: async () => ({ id: "never-called" }) };
    },
  };
});

// Port 1 on loopback: any attempt to connect would fail loudly, so passing proves no connection was tried.
const SOURCE = "postgresql://tines:0ldPass@127.0.0.1:1/tines";
const TARGET = "postgresql://tines:N3wPass@127.0.0.1:1/tines_new";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** The engine hands dynamic providers plain values; the mock monitor passes secrets wrapped. */
function unwrap(value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record) return unwrap(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

function isSecretInput(value: unknown): boolean {
  return !!value && typeof value === "object" && SECRET_SIG in (value as Record<string, unknown>);
}

interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  raw: Record<string, unknown>;
}

async function withMocks(program: () => void): Promise<Registration[]> {
  const registrations: Registration[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const inputs = unwrap(args.inputs) as Record<string, unknown>;
        if (args.type.startsWith("pulumi-nodejs:dynamic/database:")) {
          const provider = real.get(args.type.endsWith("Backup") ? checkBackupInputs : checkMigrationInputs)!;
          const checked = await provider.check!({}, inputs);
          expect(checked.failures).toEqual([]);
          await provider.diff!(args.name, { trigger: "", destination: "", target: "" }, checked.inputs);
        }
        registrations.push({
          type: args.type,
          name: args.name,
          inputs,
          raw: args.inputs as Record<string, unknown>,
        });
        return { id: args.type.includes("dynamic") ? undefined : `${args.name}-id`, state: {} };
      },
      call: () => ({}),
    },
    "tines-maintenance",
    "dev",
    true,
  );
  program();
  await new Promise((r) => setTimeout(r, 200));
  return registrations;
}

describe("database components", () => {
  const database = parseDatabaseConfig({
    url: SOURCE,
    backup: { directory: "/var/backups/tines" },
    migration: { targetUrl: TARGET, jobs: 2 },
  })!;

  it("register database-backup and database-migration at preview without touching a server", async () => {
    const registrations = await withMocks(() => {
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
    });
    expect(registrations.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "pulumi-nodejs:dynamic/database:Backup database-backup",
      "pulumi-nodejs:dynamic/database:Migration database-migration",
      "tines-maintenance:index:DatabaseBackup database-backup",
      "tines-maintenance:index:DatabaseMigration database-migration",
    ]);
    const migration = registrations.find((r) => r.type.endsWith("database:Migration"))!;
    // The URLs reach the engine only as secrets.
    expect(isSecretInput(migration.raw.sourceUrl) && isSecretInput(migration.raw.targetUrl)).toBe(true);
    const backup = registrations.find((r) => r.type.endsWith("database:Backup"))!;
    expect(isSecretInput(backup.raw.url)).toBe(true);
    expect(migration.inputs).toMatchObject({
      jobs: 2,
      allowNonEmptyTarget: false,
      noOwner: false,
      checksumMaxTableMiB: 10240,
    });
  });
});
