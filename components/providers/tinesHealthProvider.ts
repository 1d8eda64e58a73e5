/**
 * Dynamic provider behind `tines-health`: `create` (and `update` in a new window) waits
 * until Tines reports healthy, and fails the update after the timeout. Starts and stops nothing.
 */
import { checkHealthInputs, healthDiff, runHealthGate } from "../../lib/health/gate";
import { gateProvider } from "./gateProvider";

export const tinesHealthProvider = gateProvider({
  check: checkHealthInputs,
  diff: healthDiff,
  run: runHealthGate,
  id: (outs) => `tines-health-${Date.parse(outs.healthyAt)}`,
  keptOnDelete: "Waiting changed nothing: there is nothing to undo.",
});
