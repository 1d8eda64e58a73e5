import { describe, expect, it } from "vitest";
import { DYNAMIC_TYPES, GATE_TYPES, dynamicTypeToken } from "../lib/plan/names";
import { checkAllCompiled, checkAllSerialized } from "../testkit/runSerialized";

/** Every dynamic resource type the program registers. */
const TYPES = [
  ...Object.values(DYNAMIC_TYPES),
  ...Object.values(GATE_TYPES).flatMap((gate) => Object.values(gate.resources)),
].map(dynamicTypeToken);

describe("dynamic providers as the Pulumi CLI loads them", () => {
  it("every provider serializes, loads, runs its check and captures nothing serialization empties", async () => {
    // ts-node type-checks every provider's import graph, as the Pulumi CLI does: slow under a busy run.
    const reports = await checkAllSerialized(150_000);
    expect(reports.map((r) => r.name).sort()).toEqual([...TYPES].sort());
    for (const report of reports) {
      expect(
        report,
        `${report.name}: ${report.error ?? report.check} ${report.lostCaptures ?? ""}`,
      ).toMatchObject({
        ok: true,
      });
      expect(report.methods).toContain("create");
      expect(report.methods).toContain("delete");
    }
  }, 160_000);

  it("compiled, as `pulumi up` loads it after `npm ci`, each provider is a loader of a few KB that runs the compiled one", async () => {
    // By value, each carried all the code it calls (26 to 204 KB): serialized at every update.
    const reports = await checkAllCompiled(120_000);
    expect(reports.map((r) => r.name).sort()).toEqual([...TYPES].sort());
    for (const report of reports) {
      expect(report, `${report.name}: ${report.error ?? report.check}`).toMatchObject({
        ok: true,
        check: "ran",
      });
      expect(report.methods).toContain("create");
      expect(report.methods).toContain("delete");
      expect(report.bytes, report.name).toBeLessThan(4096);
    }
  }, 180_000);
});
