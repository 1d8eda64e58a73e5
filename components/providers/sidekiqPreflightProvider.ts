/**
 * Dynamic provider behind the `sidekiq-preflight` resource: at the start of a shutdown it
 * samples the Sidekiq queue and warns, or refuses the update, when the queue is non-zero
 * and not falling. `check` and `diff` never touch Redis; `delete` has nothing to undo.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProgressReporter } from "../../lib/progress";
import { checkPreflightInputs, gateDiff, runPreflight, type PreflightInputs } from "../../lib/sidekiq/gate";

function reporter(): ProgressReporter {
  return { info: (m) => void pulumi.log.info(m), warn: (m) => void pulumi.log.warn(m) };
}

export const sidekiqPreflightProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news, failures: checkPreflightInputs(news) };
  },
  async diff(_id, olds, news) {
    return gateDiff(olds, news);
  },
  async create(inputs) {
    const outs = await runPreflight(inputs as PreflightInputs, reporter());
    return { id: `sidekiq-preflight-${Date.parse(outs.startedAt)}`, outs };
  },
  async update(_id, olds, news) {
    if (!gateDiff(olds, news).changes) return { outs: olds };
    return { outs: await runPreflight(news as PreflightInputs, reporter()) };
  },
  async delete() {
    // Sampling changed nothing, so there is nothing to undo.
  },
};
