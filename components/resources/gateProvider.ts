import type * as pulumi from "@pulumi/pulumi";
import type { ProgressReporter } from "../../lib/progress";
import { engineLiveness } from "../../lib/engineLiveness";
import { operatorFacing } from "./operatorFacing";
import { pulumiReporter } from "./pulumiReporter";
import { timed } from "./timed";

export interface GateSpec<I, O> {
  /** Problems with the inputs; runs during preview, so it must touch nothing. */
  check(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[];
  /** Whether to run again; runs during preview, so it must touch nothing. */
  diff(olds: Record<string, unknown>, news: Record<string, unknown>): pulumi.dynamic.DiffResult;
  /**
   * The gate's work; throwing fails the update, so the steps that depend on the gate never run.
   * `previous`: what the gate recorded in the update before (on a rerun), if anything.
   */
  run(
    inputs: I,
    reporter: ProgressReporter,
    options: { signal: AbortSignal; previous?: Record<string, unknown> },
  ): Promise<O>;
  id(outs: O): string;
  /** Why removing the resource undoes nothing: states, at each gate, what is left in place. */
  keptOnDelete: string;
}

/**
 * A dynamic provider for a gate: `create` runs it, `update` runs it again only when `diff`
 * says so (Pulumi also calls update for changes `diff` ignores), `delete` changes nothing.
 */
export function gateProvider<I, O>(spec: GateSpec<I, O>): pulumi.dynamic.ResourceProvider {
  return operatorFacing(
    timed({
      async check(_olds, news) {
        return { inputs: news, failures: spec.check(news) };
      },
      async diff(_id, olds, news) {
        return spec.diff(olds, news);
      },
      async create(inputs) {
        const outs = await spec.run(inputs as I, pulumiReporter, { signal: engineLiveness().signal });
        return { id: spec.id(outs), outs };
      },
      async update(_id, olds, news) {
        if (!spec.diff(olds, news).changes) return { outs: olds };
        const options = { signal: engineLiveness().signal, previous: olds };
        return { outs: await spec.run(news as I, pulumiReporter, options) };
      },
      async delete() {
        // See spec.keptOnDelete.
      },
    }),
  );
}
