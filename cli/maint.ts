/**
 * Operator CLI: the program's own checks, one command each (see README, "Operator CLI").
 * Exit 0 = success; anything else = refused or failed, with one line on stderr.
 */
import { oneLine } from "../lib/errors";
import { commands } from "./commands";

const HELP_FLAGS = ["--help", "-h", "help"];

function usage(): string {
  return `usage: maint <command> [flags]\n${commands.map((c) => `  ${c.usage}\n`).join("")}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (HELP_FLAGS.includes(name)) {
    process.stdout.write(usage());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command && rest.some((arg) => arg === "--help" || arg === "-h")) {
    process.stdout.write(`usage: maint ${command.usage}\n`);
    return 0;
  }
  if (!command) {
    const names = commands.map((c) => c.name).join(", ");
    process.stderr.write(
      `maint: ${name ? `unknown command "${name}"` : "missing command"}; allowed: ${names}\n` + usage(),
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

/** `maint` as a process (cli/main.js, the package's `bin`): main's code is the exit code. */
export function runAsProcess(argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`maint: ${oneLine(error)}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) runAsProcess();
