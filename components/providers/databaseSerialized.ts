/**
 * Test helper run with ts-node in a child process: serializes a database provider as
 * `pulumi up` does, loads the text back as the dynamic provider host does, and calls the
 * loaded copy's `create` with the JSON inputs in argv[3]. Prints the result as JSON.
 */
import * as pulumi from "@pulumi/pulumi";
import { databaseBackupProvider } from "./databaseBackupProvider";
import { databaseMigrationProvider } from "./databaseMigrationProvider";

async function main(): Promise<void> {
  const provider = process.argv[2] === "backup" ? databaseBackupProvider : databaseMigrationProvider;
  const requireFromString = require("require-from-string") as (
    code: string,
    filename?: string,
  ) => Record<string, unknown>;
  const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const loaded = (
    requireFromString(serialized.text, "database.js")[
      serialized.exportName
    ] as () => pulumi.dynamic.ResourceProvider
  )();
  const result = await loaded.create!(JSON.parse(process.argv[3]));
  // pulumi.log writes to stdout outside an engine: the report is the last line.
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
