/**
 * Every provider of the program by its type token, for the provider host: a compiled provider
 * is serialized as a loader of this module (./defineProvider.ts), which the host requires once
 * and asks for the provider to run.
 */
import type * as pulumi from "@pulumi/pulumi";
import "../gates";
import "../platforms";
import { dynamicTypeToken } from "../../lib/plan/names";
import { PROVIDERS, type ResourceDefinition } from "./defineProvider";

/** The definition of the provider of `token`, as this build defines it. */
export function definitionFor(token: string): ResourceDefinition {
  const definition = PROVIDERS.find((d) => dynamicTypeToken(d.type) === token);
  if (!definition) {
    throw new Error(
      `this build of tines-maintenance has no provider ${token} (it has ${PROVIDERS.map((d) => dynamicTypeToken(d.type)).join(", ")}): ` +
        "run the version of the program that wrote the stack, or `npm run build:program`",
    );
  }
  return definition;
}

export function providerFor(token: string): pulumi.dynamic.ResourceProvider {
  return definitionFor(token).provider;
}
