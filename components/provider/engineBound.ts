import type * as pulumi from "@pulumi/pulumi";
import { engineLiveness } from "./engineLiveness";

/**
 * The provider with each call counted by the process-wide engine watch (../provider/engineLiveness):
 * once the engine that started this provider host is gone, its waits are aborted and the
 * host exits as soon as no call is running, instead of polling on as an orphan.
 */
export function engineBound(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  const wrapped: pulumi.dynamic.ResourceProvider = { ...provider };
  // check and diff too: a preview's host must also go when its engine does.
  for (const method of ["check", "diff", "create", "update", "read", "delete"] as const) {
    const call = provider[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (!call) continue;
    (wrapped as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      engineLiveness().track(() => call.apply(provider, args));
  }
  return wrapped;
}
