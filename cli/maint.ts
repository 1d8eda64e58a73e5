/**
 * Operator CLI: the program's own checks, one command each (see README, "Operator CLI").
 * Exit 0 = success; anything else = refused or failed, with one line on stderr.
 */
import { oneLine } from "../lib/errors";
import { commands } from "./commands";

const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h";

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (isHelp(name) || name === "help") {
    process.stdout.write(
      `usage: npm run -s maint -- <command> [flags]\n${commands.map((c) => `  ${c.usage}\n`).join("")}`,
    );
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command && rest.some(isHelp)) {
    process.stdout.write(`usage: npm run -s maint -- ${command.usage}\n`);
    return 0;
  }
  if (!command) {
    const names = commands.map((c) => c.name).join(", ");
    process.stderr.write(
      `maint: ${name ? `unknown command "${name}"` : "missing command"}; allowed: ${names}\n` +
        commands.map((c) => `  ${c.usage}\n`).join(""),
    );
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    process.stderr.write(`maint ${command.name}: ${oneLine(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`maint: ${oneLine(error)}\n`);
      process.exit(1);
    },
  );
}
