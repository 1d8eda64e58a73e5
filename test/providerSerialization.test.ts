import { describe, expect, it } from "vitest";
import { allProviders } from "./support/allProviders";
import { checkAllSerialized } from "./runSerialized";

describe("dynamic providers as the Pulumi CLI loads them", () => {
  it("every provider in test/support/allProviders.ts serializes, loads and runs its check", async () => {
    // ts-node type-checks every provider's import graph, as the Pulumi CLI does: slow under a busy run.
    const reports = await checkAllSerialized(150_000);
    expect(reports.map((r) => r.name).sort()).toEqual(Object.keys(allProviders).sort());
    expect(reports.length).toBeGreaterThan(0);
    for (const report of reports) {
      expect(report, `${report.name}: ${report.error ?? report.check}`).toMatchObject({ ok: true });
      expect(report.methods).toContain("create");
      expect(report.methods).toContain("delete");
    }
  }, 160_000);
});
