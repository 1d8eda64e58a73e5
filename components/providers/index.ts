import type * as pulumi from "@pulumi/pulumi";

/**
 * Every dynamic provider of the program, so one test can prove that each serializes and
 * loads as the Pulumi CLI runs it (test/providerSerialization.test.ts).
 */
export const allProviders: Record<string, pulumi.dynamic.ResourceProvider> = {};
