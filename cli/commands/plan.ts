/**
 * `maint plan`: the steps a `pulumi up` would take, read from the stack's config file
 * alone (no backend, no cloud, no secrets key), validated exactly as the program does.
 * CI posts its output on pull requests next to the preview.
 */
import path from "node:path";
import { assertCredentialsAreSecrets } from "../../lib/config";
import { ConfigError } from "../../lib/errors";
import { buildPlan, formatPlan } from "../../lib/plan/plan";
import { PHASES, type Phase } from "../../lib/plan/services";
import { parseStackConfig } from "../../lib/config/stackConfig";
import { readStackFile } from "../../lib/config/stackFile";
import { parseFlags, valueFlags, type CliCommand } from "../command";

const USAGE = "plan [--stack NAME] [--phase running|shutdown] [--project-dir DIR]";

function phaseFlag(value: string | undefined): Phase | undefined {
  if (value === undefined) return undefined;
  if (!(PHASES as readonly string[]).includes(value)) {
    throw new ConfigError(`--phase must be one of: ${PHASES.join(", ")}, got "${value}"`);
  }
  return value as Phase;
}

export interface PlanCommandIo {
  cwd: () => string;
  env: Record<string, string | undefined>;
  out: (text: string) => void;
}

/** The plan text for one stack; throws ConfigError on bad flags or bad config. */
export function planText(args: string[], io: Pick<PlanCommandIo, "cwd" | "env">): string {
  const flags = parseFlags(args, valueFlags("stack", "phase", "project-dir"), USAGE);
  const phase = phaseFlag(flags.phase);
  const projectDir = path.resolve(io.cwd(), flags["project-dir"] ?? ".");
  const stackFile = readStackFile({ projectDir, stack: flags.stack, env: io.env });
  // Each value of the file is encrypted or not on its own: every credential must be.
  assertCredentialsAreSecrets(stackFile.raw, () => false);
  const raw = phase === undefined ? stackFile.raw : { ...stackFile.raw, phase };
  const config = parseStackConfig(raw);
  const plan = buildPlan(config);
  const source = phase === undefined ? "" : ` with --phase ${phase}`;
  // Relative, so that a CI comment does not show the runner's checkout path.
  const file = path.relative(projectDir, stackFile.file);
  return `stack ${stackFile.stack} (${file}${source})\n${formatPlan(plan)}\n`;
}

export function makePlanCommand(io: PlanCommandIo): CliCommand {
  return {
    name: "plan",
    usage: USAGE,
    async run(args) {
      io.out(planText(args, io));
      return 0;
    },
  };
}

export const planCommand: CliCommand = makePlanCommand({
  cwd: () => process.cwd(),
  env: process.env,
  out: (text) => process.stdout.write(text),
});
