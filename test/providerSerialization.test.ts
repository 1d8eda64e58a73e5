import { describe, expect, it } from "vitest";
import { DYNAMIC_TYPES, GATE_TYPES, dynamicTypeToken } from "../lib/plan/names";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startProviderHost } from "../testkit/providerHost";
import { checkAllCompiled, checkAllSerialized, serializeAllCompiled } from "../testkit/runSerialized";

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

  it("compiled, in the CLI's provider host: runs the provider of the build; with no build where the state says, fails each call with what to do", async () => {
    const texts = await serializeAllCompiled();
    const text = texts[dynamicTypeToken(GATE_TYPES["tines-health"].resources.check)];
    const inProject = await startProviderHost();
    const noBuild = mkdtempSync(path.join(os.tmpdir(), "tines-maint-nobuild-"));
    const elsewhere = await startProviderHost({}, noBuild);
    try {
      const checked = await inProject.call("check", { provider: text, olds: {}, news: {} });
      expect(checked.failures.map((f) => f.reason)).toEqual(["health.url is required"]);
      for (const method of ["check", "delete"] as const) {
        const answer = await elsewhere.call(method, { provider: text, id: "id", olds: {}, news: {} });
        // What the host prints arrives on its own pipe, a moment after the answer.
        await new Promise((r) => setTimeout(r, 50));
        const seen = [answer.error ?? "", answer.stderr].join("\n");
        expect(answer.error, method).toMatch(/cannot load the provider of .*tines:Health.*run `npm ci`/);
        expect(seen, method).not.toMatch(/\bat \S+ \(|\bat (\/|node:)|\.js:\d+/);
      }
    } finally {
      await Promise.all([inProject.stop(), elsewhere.stop()]);
      rmSync(noBuild, { recursive: true, force: true });
    }
  }, 180_000);
});
