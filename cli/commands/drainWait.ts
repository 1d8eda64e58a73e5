/**
 * `maint drain-wait`: the drain gate the program runs before stopping tines-sidekiq, for
 * operators. Progress goes to stderr; exit 0 once drained, 1 with the samples on timeout.
 */
import { readSnapshot } from "../../lib/sidekiq/api";
import { redisUrlFlag } from "../urlFlag";
import { drainSettingsIssues, SIDEKIQ_DEFAULTS, type DrainSettings } from "../../lib/sidekiq/config";
import { formatSamples, waitForDrain } from "../../lib/sidekiq/drain";
import { ConfigError } from "../../lib/errors";
import { stderrReporter } from "../../lib/progress";
import { namespaceFlag, numberFlag, flagCommand, valueFlags, withInterruptSignal } from "../command";

const usage =
  "drain-wait --redis-url URL --interval S --window S --max-size N --timeout S " +
  "[--settle S] [--max-busy N] [--namespace NS]";

const FLAG_OF: Record<string, string> = {
  settleSeconds: "--settle",
  intervalSeconds: "--interval",
  timeoutSeconds: "--timeout",
};

export function drainWaitSettings(flags: Record<string, string | boolean | undefined>): DrainSettings {
  const str = (name: string) => flags[name] as string | undefined;
  const windowSeconds = numberFlag(str("window"), "window", { min: 1 });
  const settings: DrainSettings = {
    intervalSeconds: numberFlag(str("interval"), "interval", { min: 0.1 }),
    windowSeconds,
    maxSize: numberFlag(str("max-size"), "max-size", { min: 0, integer: true }),
    timeoutSeconds: numberFlag(str("timeout"), "timeout", { min: 1 }),
    // Sidekiq's heartbeat period bounds how stale a busy count can be; never more than the window.
    settleSeconds:
      str("settle") === undefined
        ? Math.min(SIDEKIQ_DEFAULTS.settleSeconds, windowSeconds)
        : numberFlag(str("settle"), "settle", { min: 0 }),
    maxBusy:
      str("max-busy") === undefined ? 0 : numberFlag(str("max-busy"), "max-busy", { min: 0, integer: true }),
  };
  const issue = drainSettingsIssues(settings)[0];
  if (issue) {
    const message = issue.message.replace("windowSeconds", "--window").replace("timeoutSeconds", "--timeout");
    throw new ConfigError(`${FLAG_OF[issue.path[0]] ?? issue.path[0]} ${message}`);
  }
  return settings;
}

export const drainWaitCommand = flagCommand({
  name: "drain-wait",
  usage,
  options: valueFlags(
    "redis-url",
    "namespace",
    "interval",
    "window",
    "max-size",
    "timeout",
    "settle",
    "max-busy",
  ),
  async run(flags) {
    const url = redisUrlFlag(flags["redis-url"], stderrReporter);
    const namespace = namespaceFlag(flags.namespace);
    const settings = drainWaitSettings(flags);
    return withInterruptSignal(async (signal) => {
      const outcome = await waitForDrain(
        (bound) => readSnapshot({ url, namespace }, settings.windowSeconds, bound),
        settings,
        stderrReporter,
        { signal, label: "sidekiq" },
      );
      const seconds = ((outcome.finishedAt - outcome.startedAt) / 1000).toFixed(1);
      process.stdout.write(
        `drained after ${seconds}s: ${outcome.reason}; samples: ${formatSamples(outcome.samples)}\n`,
      );
      return 0;
    });
  },
});
