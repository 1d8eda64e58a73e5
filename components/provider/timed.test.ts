import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { timed } from "./timed";

describe("timed provider", () => {
  const slow: pulumi.dynamic.ResourceProvider = {
    async create(inputs) {
      await new Promise((r) => setTimeout(r, 30));
      return { id: "x", outs: { ...inputs, done: true } };
    },
    async update(_id, olds, news) {
      if (news.same) return { outs: olds };
      await new Promise((r) => setTimeout(r, 30));
      return { outs: { ...olds, ...news } };
    },
  };

  it("records when create and update started and finished", async () => {
    const provider = timed(slow);
    const created = await provider.create!({ a: 1 });
    expect(created.outs).toMatchObject({ a: 1, done: true });
    const took = Date.parse(created.outs.finishedAt) - Date.parse(created.outs.startedAt);
    expect(took).toBeGreaterThanOrEqual(25);

    const updated = await provider.update!("x", created.outs, { a: 2 });
    expect(Date.parse(updated.outs!.startedAt)).toBeGreaterThanOrEqual(Date.parse(created.outs.finishedAt));
    expect(updated.outs).toMatchObject({ a: 2 });
  });

  it("keeps the old times when an update did no work", async () => {
    const olds = { startedAt: "2020-01-01T00:00:00.000Z", finishedAt: "2020-01-01T00:00:01.000Z" };
    const updated = await timed(slow).update!("x", olds, { same: true });
    expect(updated.outs).toBe(olds);
  });
});
