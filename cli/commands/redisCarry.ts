/**
 * `maint redis-carry`: what the `sidekiq-carry` gate does in a shutdown that moves REDIS_URL,
 * for operators moving Redis by hand: copy Sidekiq's scheduled jobs, retries, dead jobs and
 * queues from one Redis to another and verify them on both sides. `--check` only reads both
 * and says what would be carried, or why not. Exit 0 on success; 1 with one line on stderr
 * on a refusal (nothing was written) or a failure. The old Redis is only ever read.
 */
import { carrySidekiqJobs, precheckCarry, type CarryNames } from "../../lib/sidekiq/carry";
import { heldJobsSentence, heldJobsText } from "../../lib/sidekiq/heldJobs";
import { GateError } from "../../lib/errors";
import { stderrReporter } from "../../lib/progress";
import { parseRedisUrl } from "../../lib/sidekiq/config";
import { urlFlag } from "../urlFlag";
import { namespaceFlag, flagCommand, switchFlags, valueFlags, withInterruptSignal } from "../command";

const usage = "redis-carry --from URL|env:VAR --to URL|env:VAR [--namespace NS] [--check] [--json]";

const NAMES: CarryNames = {
  from: "--from",
  to: "--to",
  namespace: "--namespace",
  mode: "sidekiq.onRedisSwitch",
};

export const redisCarryCommand = flagCommand({
  name: "redis-carry",
  usage,
  options: { ...valueFlags("from", "to", "namespace"), ...switchFlags("check", "json") },
  async run(flags) {
    const example = { reporter: stderrReporter, example: "redis://[user:password@]host:6379/1" };
    const from = urlFlag(flags.from, "--from", example);
    const to = urlFlag(flags.to, "--to", example);
    parseRedisUrl(from.url, from.source);
    parseRedisUrl(to.url, to.source);
    const target = { fromUrl: from.url, toUrl: to.url, namespace: namespaceFlag(flags.namespace) };
    return withInterruptSignal(async (signal) => {
      const options = { reporter: stderrReporter, signal, names: NAMES, label: "redis-carry" };
      if (flags.check) {
        const check = await precheckCarry(target, options);
        if (check.refusals.length > 0) throw new GateError(check.refusals.map((r) => r.message).join("; "));
        for (const warning of check.warnings) stderrReporter.warn(`redis-carry: ${warning}`);
        const survey = check.survey!;
        const sentence = survey.sameRedis
          ? `${heldJobsText(survey.held, survey.at)}: --from and --to reach the same Redis, nothing to carry`
          : `${heldJobsText(survey.held, survey.at)}: nothing refuses the carry (run without --check to carry them)`;
        const report = {
          check: "ok",
          sameRedis: survey.sameRedis,
          held: survey.held,
          queues: survey.queues,
          summary: sentence,
          warnings: survey.warnings,
        };
        process.stdout.write(`${flags.json ? JSON.stringify(report) : sentence}\n`);
        return 0;
      }
      const result = await carrySidekiqJobs(target, options);
      const { survey } = result;
      const sentence =
        result.outcome === "same-redis"
          ? `${heldJobsSentence(survey.held, "stay", survey.at)} (--from and --to reach the same Redis)`
          : heldJobsSentence(survey.held, "carried", survey.at);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({
            outcome: result.outcome,
            summary: sentence,
            held: survey.held,
            queues: survey.queues,
            written: result.written,
            verified: result.verified,
            alreadyThere: survey.alreadyThere,
            method: result.method,
            seconds: result.seconds,
            warnings: result.warnings,
          })}\n`,
        );
      } else {
        const w = result.written;
        process.stdout.write(
          `${sentence}\nverified on both sides in ${result.seconds.total.toFixed(2)}s: ` +
            `${w.scheduled + w.retries + w.dead + w.queued} entries written, ${survey.alreadyThere} already there (${result.method})\n`,
        );
      }
      return 0;
    });
  },
});
