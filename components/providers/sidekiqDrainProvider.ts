/**
 * Dynamic provider behind the `sidekiq-drain` resource: `create` (and `update` with a new
 * trigger) waits until Sidekiq has drained and records the samples; on timeout it fails
 * the update, so the tines-sidekiq step that depends on it never runs. `check` and `diff`
 * never touch Redis.
 */
import { checkDrainInputs, gateDiff, runDrainGate } from "../../lib/sidekiq/gate";
import { gateProvider } from "./gateProvider";

export const sidekiqDrainProvider = gateProvider({
  check: checkDrainInputs,
  diff: gateDiff,
  run: runDrainGate,
  id: (outs) => `sidekiq-drain-${Date.parse(outs.finishedAt)}`,
  keptOnDelete: "Waiting changed nothing, so there is nothing to undo.",
});
