import * as pulumi from "@pulumi/pulumi";
import type { DynamicType } from "../../lib/plan/names";

/**
 * The base of every dynamic resource the program registers: gates, service counts, rollouts
 * and KEDA pauses. Its type token comes from lib/plan/names.ts (part of every URN, so never spelled
 * twice), and every output the provider returns starts undefined so the SDK knows it. Every
 * provider goes through `timed`, which adds `startedAt` / `finishedAt` for the report.
 */
export abstract class MaintenanceResource extends pulumi.dynamic.Resource {
  // `declare`: with ES2022 class fields a plain field would be reset to undefined after
  // super() has filled it with the provider's output.
  declare public readonly startedAt: pulumi.Output<string>;
  declare public readonly finishedAt: pulumi.Output<string>;

  constructor(
    provider: pulumi.dynamic.ResourceProvider,
    dynamicType: DynamicType,
    name: string,
    /** The provider's inputs; an input of the same name as an output wins. */
    inputs: pulumi.Inputs,
    /** The outputs the provider returns besides `startedAt` / `finishedAt`. */
    outputs: readonly string[],
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    super(
      provider,
      name,
      { ...Object.fromEntries(outputs.map((key) => [key, undefined])), ...inputs },
      opts,
      dynamicType.module,
      dynamicType.type,
    );
  }
}
