import { describe, expect, it } from "vitest";
import { GateError } from "../../lib/errors";
import { defineProvider, type ProviderContext } from "./defineProvider";

const TYPE = { module: "test", type: "Thing" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outs {
  a: number;
  done: boolean;
  finishedAt?: string;
}

describe("defineProvider", () => {
  const gate = defineProvider({
    type: TYPE,
    outputs: ["done"],
    diff: (olds, news) => ({ changes: olds.trigger !== news.trigger }),
    create: async (inputs: { a: number; trigger: string }): Promise<Outs> => {
      await sleep(30);
      return { a: inputs.a, done: true };
    },
    id: (outs) => `thing-${outs.a}`,
    delete: "Nothing to undo.",
  }).provider;

  it("records when create and update started and finished", async () => {
    const created = await gate.create!({ a: 1, trigger: "run-1" });
    expect(created.id).toBe("thing-1");
    expect(created.outs).toMatchObject({ a: 1, done: true });
    const took = Date.parse(created.outs.finishedAt) - Date.parse(created.outs.startedAt);
    expect(took).toBeGreaterThanOrEqual(25);

    const updated = await gate.update!(
      "thing-1",
      { ...created.outs, trigger: "run-1" },
      { a: 2, trigger: "run-2" },
    );
    expect(Date.parse(updated.outs!.startedAt)).toBeGreaterThanOrEqual(Date.parse(created.outs.finishedAt));
    expect(updated.outs).toMatchObject({ a: 2 });
  });

  it("keeps the old outputs and times when an update has nothing to do", async () => {
    const olds = {
      trigger: "run-1",
      startedAt: "2020-01-01T00:00:00.000Z",
      finishedAt: "2020-01-01T00:00:01.000Z",
    };
    const updated = await gate.update!("x", olds, { a: 2, trigger: "run-1" });
    expect(updated.outs).toBe(olds);
  });

  it("reports every failure as the one line of its cause, never a stack trace", async () => {
    const refuse = () => {
      throw new GateError("refused: the queue is not falling\n  (see the samples)");
    };
    const failing = defineProvider({
      type: TYPE,
      outputs: [],
      check: refuse,
      diff: refuse,
      create: async (_inputs: object): Promise<object> => refuse(),
      id: () => "x",
      read: async () => refuse(),
      delete: async () => refuse(),
    }).provider;
    const line = "refused: the queue is not falling (see the samples)";
    // check never throws: the engine prints a check failure as "<type> resource '<name>' has a problem".
    expect(await failing.check!({}, {})).toEqual({ inputs: {}, failures: [{ property: "", reason: line }] });
    // The provider host prints the others as `${error}: ${error.stack}`.
    // create and update errors pass as thrown: the host reports them by their message alone.
    await expect(failing.create!({})).rejects.toBeInstanceOf(GateError);
    await expect(failing.update!("x", {}, {})).rejects.toBeInstanceOf(GateError);
    for (const call of [
      () => failing.diff!("x", {}, {}),
      () => failing.read!("x", {}),
      () => failing.delete!("x", {}),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toBe(line);
      const printed = `${error}: ${error?.stack}`;
      expect(printed.startsWith(`${line}: `)).toBe(true);
      expect(printed.slice(line.length)).toMatch(/^: [a-z' ]+$/);
    }
  });

  it("hands the stack's aws:* settings to the methods of a provider defined with { aws: true }", async () => {
    const seen: unknown[] = [];
    const aws = defineProvider(
      {
        type: TYPE,
        outputs: [],
        diff: () => ({ changes: false }),
        create: async (_inputs: object, context: ProviderContext) => {
          seen.push(context.aws.region);
          return {};
        },
        id: () => "x",
        delete: "Nothing to undo.",
      },
      { aws: true },
    ).provider;
    const config = { "aws:region": "eu-west-3" } as Record<string, string>;
    await aws.configure!({
      config: { get: (key: string) => config[key], require: (key: string) => config[key] },
    });
    await aws.create!({});
    expect(seen).toEqual(["eu-west-3"]);
  });
});
