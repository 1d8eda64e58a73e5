/**
 * Dynamic provider behind the `sidekiq-drain` resource: `create` (and `update` with a new
 * trigger) waits until Sidekiq has drained and records the samples; on timeout it fails
 * the update, so the tines-sidekiq step that depends on it never runs. `check` and `diff`
 * never touch Redis; `delete` has nothing to undo.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProgressReporter } from "../../lib/progress";
import { checkDrainInputs, gateDiff, runDrainGate, type DrainGateInputs } from "../../lib/sidekiq/gate";

function reporter(): ProgressReporter {
  return { info: (m) => void pulumi.log.info(m), warn: (m) => void pulumi.log.warn(m) };
}

export const sidekiqDrainProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news, failures: checkDrainInputs(news) };
  },
  async diff(_id, olds, news) {
    return gateDiff(olds, news);
  },
  async create(inputs) {
    const outs = await runDrainGate(inputs as DrainGateInputs, reporter());
    return { id: `sidekiq-drain-${Date.parse(outs.finishedAt)}`, outs };
  },
  async update(_id, olds, news) {
    if (!gateDiff(olds, news).changes) return { outs: olds };
    return { outs: await runDrainGate(news as DrainGateInputs, reporter()) };
  },
  async delete() {
    // Waiting changed nothing, so there is nothing to undo.
  },
};
