import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { allProviders } from "../components/providers/index";
import type { SerializationReport } from "./serializeProviders";

const root = path.resolve(__dirname, "..");

describe("dynamic providers as the Pulumi CLI loads them", () => {
  it("every provider in components/providers/index.ts serializes, loads and runs its check", async () => {
    const { stdout } = await promisify(execFile)(
      "npx",
      ["ts-node", "-P", "tsconfig.json", "test/serializeProviders.ts"],
      {
        cwd: root,
        // ts-node type-checks every provider's import graph, as the Pulumi CLI does: slow under a busy run.
        timeout: 150_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const reports = JSON.parse(stdout.trim().split("\n").pop() ?? "[]") as SerializationReport[];
    expect(reports.map((r) => r.name).sort()).toEqual(Object.keys(allProviders).sort());
    expect(reports.length).toBeGreaterThan(0);
    for (const report of reports) {
      expect(report, `${report.name}: ${report.error ?? report.check}`).toMatchObject({ ok: true });
      expect(report.methods).toContain("create");
      expect(report.methods).toContain("delete");
    }
  }, 160_000);
});
