import * as pulumi from "@pulumi/pulumi";
import { redisHost, redisPort, type EndpointsConfig } from "../../lib/endpoints/config";
import type { EndpointToCheck } from "../../lib/endpoints/propagation";
import { COMPONENT_TYPES } from "../../lib/plan/names";
import { EndpointPropagationResource } from "./endpointPropagationResource";

export interface EndpointPropagationGateArgs {
  endpoints: EndpointsConfig;
  /** From the EndpointSwitch: when the new values were written; the TTL is waited from here. */
  switchedAt: pulumi.Input<number | undefined>;
}

/** What the gate checks, derived from config; credentials stay in the (secret) inputs only. */
export function endpointsToCheck(endpoints: EndpointsConfig): EndpointToCheck[] {
  const out: EndpointToCheck[] = [];
  if (endpoints.databaseHost !== undefined) {
    const database = endpoints.propagation.database;
    out.push({
      kind: "postgres",
      host: endpoints.databaseHost,
      port: endpoints.databasePort,
      ...(database
        ? { database: { user: database.user, password: database.password, name: database.name } }
        : {}),
    });
  }
  if (endpoints.redisUrl !== undefined) {
    out.push({
      kind: "redis",
      host: redisHost(endpoints.redisUrl),
      port: redisPort(endpoints.redisUrl),
      url: endpoints.redisUrl,
    });
  }
  return out;
}

/**
 * The `endpoint-propagation` gate, first step of startup: every service step must depend
 * on it. It passes when each new endpoint resolves (system resolver and configured DNS
 * servers agree), the TTL has passed since the switch, and TCP plus a protocol ping
 * succeed; otherwise the update fails naming the endpoint and the check.
 */
export class EndpointPropagationGate extends pulumi.ComponentResource {
  public readonly checkedAt: pulumi.Output<string>;
  /** Host, port, addresses and TTL of each endpoint checked (no credentials). */
  public readonly endpoints: pulumi.Output<
    Array<{ kind: string; host: string; port: number; addresses: string[]; ttlSeconds: number }>
  >;

  constructor(name: string, args: EndpointPropagationGateArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(COMPONENT_TYPES.endpointPropagationGate, name, {}, opts);
    const { propagation } = args.endpoints;
    const resource = new EndpointPropagationResource(
      name,
      {
        checks: pulumi.secret(endpointsToCheck(args.endpoints)),
        dnsServers: propagation.dnsServers,
        ttlSeconds: propagation.ttlSeconds,
        switchedAt: args.switchedAt,
        timeoutSeconds: propagation.timeoutSeconds,
        intervalSeconds: propagation.intervalSeconds,
      },
      { parent: this },
    );
    this.checkedAt = resource.checkedAt;
    this.endpoints = resource.endpoints;
    this.registerOutputs({ checkedAt: this.checkedAt, endpoints: this.endpoints });
  }
}
