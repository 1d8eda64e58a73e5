import type { CliCommand } from "./command";

/** Every operator command, in the order `maint` lists them. */
export const commands: CliCommand[] = [];
