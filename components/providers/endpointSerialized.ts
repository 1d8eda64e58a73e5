/**
 * Test helper run with ts-node in a child process: serializes an endpoint provider as
 * `pulumi up` does, loads the text back as the dynamic provider host does, and calls the
 * loaded copy's `create` with the JSON inputs in argv[3]. Prints the outputs as JSON.
 */
import * as pulumi from "@pulumi/pulumi";
import { endpointPropagationProvider } from "./endpointPropagationProvider";
import { endpointSwitchProvider } from "./endpointSwitchProvider";

const providers: Record<string, pulumi.dynamic.ResourceProvider> = {
  endpointSwitch: endpointSwitchProvider,
  endpointPropagation: endpointPropagationProvider,
};

async function main(): Promise<void> {
  const requireFromString = require("require-from-string") as (
    code: string,
    filename?: string,
  ) => Record<string, unknown>;
  const provider = providers[process.argv[2]];
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const loaded = (
    requireFromString(serialized.text, `${process.argv[2]}.js`)[
      serialized.exportName
    ] as () => pulumi.dynamic.ResourceProvider
  )();
  const result = await loaded.create!(JSON.parse(process.argv[3]));
  // pulumi.log writes to stdout outside an engine: the report is the last line.
  process.stdout.write(`\n${JSON.stringify({ bytes: serialized.text.length, result })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
