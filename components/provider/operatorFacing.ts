import type * as pulumi from "@pulumi/pulumi";
import { oneLine } from "../../lib/errors";
import { engineBound } from "./engineBound";

/**
 * The dynamic-provider host (@pulumi/pulumi cmd/dynamic-provider) prints every error thrown
 * by `check`, `diff` and `read` as `${error}: ${error.stack}` before returning it: a stack
 * trace for an Error, and `[object Object]: undefined` for our error classes once they are
 * serialized into the provider (they are no longer `Error`s there). So:
 *  - `check` never throws: a refusal becomes a check failure, which the engine prints as
 *    "<type> resource '<name>' has a problem: <message>";
 *  - `diff` and `read` throw an error that prints as the message and a sentence saying
 *    what was left as it was, never a stack trace.
 * `create`, `update` and `delete` errors are reported by their message alone already.
 * Every call is also bound to the engine (./engineBound): an orphaned host stops and exits.
 */
export function operatorFacing(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  const readable = (error: unknown, outcome: string) => {
    const message = oneLine(error);
    return Object.assign(new Error(message), { stack: outcome, toString: () => message });
  };
  const wrapped: pulumi.dynamic.ResourceProvider = { ...provider };
  if (provider.check) {
    const check = provider.check;
    wrapped.check = async (olds, news) => {
      try {
        return await check(olds, news);
      } catch (error) {
        return { inputs: news, failures: [{ property: "", reason: oneLine(error) }] };
      }
    };
  }
  if (provider.diff) {
    const diff = provider.diff;
    wrapped.diff = async (id, olds, news) => {
      try {
        return await diff(id, olds, news);
      } catch (error) {
        throw readable(error, "nothing was changed");
      }
    };
  }
  if (provider.read) {
    const read = provider.read;
    wrapped.read = async (id, props) => {
      try {
        return await read(id, props);
      } catch (error) {
        throw readable(error, "the stack's record of it was left as it was");
      }
    };
  }
  return engineBound(wrapped);
}
