import type * as pulumi from "@pulumi/pulumi";

/**
 * The provider with `startedAt` / `finishedAt` (ISO times) added to what `create` and `update`
 * return, so that every step's bar in the window report (`maint report`) comes from the state
 * of the update that ran it. An update that returns its old outputs unchanged did no work and
 * keeps its old times.
 */
export function timed(provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  const create = provider.create;
  const update = provider.update;
  const wrapped: pulumi.dynamic.ResourceProvider = { ...provider };
  if (create) {
    wrapped.create = async (inputs) => {
      const startedAt = new Date().toISOString();
      const result = await create.call(provider, inputs);
      return { ...result, outs: { ...result.outs, startedAt, finishedAt: new Date().toISOString() } };
    };
  }
  if (update) {
    wrapped.update = async (id, olds, news) => {
      const startedAt = new Date().toISOString();
      const result = await update.call(provider, id, olds, news);
      if (result.outs === olds) return result;
      return { ...result, outs: { ...result.outs, startedAt, finishedAt: new Date().toISOString() } };
    };
  }
  return wrapped;
}
