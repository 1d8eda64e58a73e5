/**
 * Policy pack `tines-maintenance-seed-rules`: the seed's ordering and endpoint rules,
 * enforced on every preview and update that runs it:
 *
 *     pulumi preview --policy-pack policy
 *     pulumi up --policy-pack policy --message "..."
 *
 * Each policy is a thin wrapper around a pure rule in ./rules.
 */
import { PolicyPack, type StackValidationPolicy } from "@pulumi/policy";
import {
  checkEndpointChangeOnlyInShutdown,
  checkNoAppWithoutDataStores,
  checkStepOrder,
  type StackResource,
  type Violation,
} from "./rules";

function stackPolicy(
  name: string,
  description: string,
  rule: (resources: readonly StackResource[]) => Violation[],
): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
      for (const violation of rule(args.resources)) reportViolation(violation.message, violation.urn);
    },
  };
}

const policies: StackValidationPolicy[] = [
  stackPolicy(
    "no-app-without-data-stores",
    "tines-app and tines-sidekiq may not be scaled up while Postgres or Redis is scaled to zero.",
    checkNoAppWithoutDataStores,
  ),
  stackPolicy(
    "endpoint-change-only-in-shutdown",
    "DATABASE_HOST / REDIS_URL may change only in phase shutdown, after every service step has finished.",
    checkEndpointChangeOnlyInShutdown,
  ),
  stackPolicy(
    "steps-in-seed-order",
    "Each service step depends on the one before it: scale-down order in shutdown, the reverse in running.",
    checkStepOrder,
  ),
];

new PolicyPack("tines-maintenance-seed-rules", { policies });
