/**
 * Dynamic provider behind the `sidekiq-preflight` resource: at the start of a shutdown it
 * samples the Sidekiq queue and warns, or refuses the update, when the queue is non-zero
 * and not falling. `check` and `diff` never touch Redis.
 */
import { checkPreflightInputs, gateDiff, runPreflight } from "../../lib/sidekiq/gate";
import { gateProvider } from "./gateProvider";

export const sidekiqPreflightProvider = gateProvider({
  check: checkPreflightInputs,
  diff: gateDiff,
  run: runPreflight,
  id: (outs) => `sidekiq-preflight-${Date.parse(outs.startedAt)}`,
  keptOnDelete: "Sampling changed nothing, so there is nothing to undo.",
});
