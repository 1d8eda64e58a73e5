/**
 * Our errors are recognised inside a dynamic provider, as the Pulumi CLI loads one: the code
 * is serialized with `pulumi.runtime.serializeFunction` and evaluated from text (in a ts-node
 * child: vitest's module transform breaks closure serialization). Module-level values are
 * copied by the serializer, and a Set arrives as a plain object without its entries.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";

const root = path.resolve(__dirname, "..");
const tsNode = path.join(root, "node_modules/.bin/ts-node");

const program = `
const pulumi = require("@pulumi/pulumi");
const requireFromString = require("require-from-string");
const { GateError, ConfigError, isMaintenanceError } = require("./lib/errors");
const probe = () => [isMaintenanceError(new GateError("x")), isMaintenanceError(new ConfigError("y")), isMaintenanceError(new Error("z"))];
pulumi.runtime.serializeFunction(() => probe, {}).then((s) => {
  const loaded = requireFromString(s.text, "probe.js")[s.exportName]();
  try {
    process.stdout.write(JSON.stringify(loaded()));
  } catch (error) {
    process.stdout.write(JSON.stringify(String(error)));
  }
});
`;

it("isMaintenanceError works in a serialized provider", async () => {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      tsNode,
      ["--transpile-only", "-e", program],
      { cwd: root, timeout: 120_000 },
      (error, out, err) => (error ? reject(new Error(`${error.message}: ${err}`)) : resolve(out)),
    ),
  );
  expect(JSON.parse(stdout)).toEqual([true, true, false]);
}, 130_000);
