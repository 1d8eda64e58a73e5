/**
 * The `endpoint-propagation` gate, first check of a startup: every service step depends on it.
 * It resolves each new endpoint (system resolver and configured DNS servers must agree), waits
 * out the TTL since the switch, connects and pings; the update fails, before any service
 * starts, naming the endpoint and the check. Only registered in running phase, so it is
 * created, and so checks, at every startup.
 */
import * as pulumi from "@pulumi/pulumi";
import { redisHost, redisPort, type EndpointsConfig } from "../../lib/endpoints/config";
import { sha256 } from "../../lib/endpoints/guard";
import { waitForPropagation, type EndpointToCheck } from "../../lib/endpoints/propagation";
import { GATE_TYPES } from "../../lib/plan/names";
import { defineProvider, dynamicResource, type ProviderContext } from "../provider/defineProvider";
import { EndpointSwitch } from "./endpointSwitch";
import { beyondGateTimeout, defineGate, outputsOf } from "./gate";

const TYPES = GATE_TYPES["endpoint-propagation"];

export interface EndpointPropagationInputs {
  /** Secret: a Redis URL or a database password may be in it. */
  checks: EndpointToCheck[];
  dnsServers: string[];
  ttlSeconds?: number;
  /** From the endpoint switch: when the values were written (ms since epoch). */
  switchedAt?: number;
  timeoutSeconds: number;
  intervalSeconds: number;
}

export interface EndpointPropagationOutputs {
  checkedAt: string;
  /** What the gate saw, without credentials. */
  endpoints: Array<{ kind: string; host: string; port: number; addresses: string[]; ttlSeconds: number }>;
  /** Compares inputs in `diff` without keeping credentials in plain outputs. */
  inputsSha256: string;
}

function fingerprint(inputs: EndpointPropagationInputs): string {
  const { checks, dnsServers, ttlSeconds, switchedAt } = inputs;
  return sha256(JSON.stringify({ checks, dnsServers, ttlSeconds, switchedAt }));
}

async function runGate(
  inputs: EndpointPropagationInputs,
  { reporter }: ProviderContext,
): Promise<EndpointPropagationOutputs> {
  const reports = await waitForPropagation(inputs.checks, {
    dnsServers: inputs.dnsServers,
    ...(inputs.ttlSeconds !== undefined ? { ttlSeconds: inputs.ttlSeconds } : {}),
    ...(inputs.switchedAt !== undefined ? { switchedAt: inputs.switchedAt } : {}),
    timeoutSeconds: inputs.timeoutSeconds,
    intervalSeconds: inputs.intervalSeconds,
    reporter,
  });
  return {
    checkedAt: new Date().toISOString(),
    endpoints: reports.map(({ kind, host, port, addresses, ttlSeconds }) => ({
      kind,
      host,
      port,
      addresses,
      ttlSeconds,
    })),
    inputsSha256: fingerprint(inputs),
  };
}

export const endpointPropagationProvider = defineProvider({
  type: TYPES.resources.check,
  outputs: ["checkedAt", "endpoints", "inputsSha256"],
  secretOutputs: ["inputsSha256"],
  diff: (olds, news) => ({
    changes: olds.inputsSha256 !== fingerprint(news as unknown as EndpointPropagationInputs),
  }),
  create: (inputs: EndpointPropagationInputs, context: ProviderContext) => runGate(inputs, context),
  id: (outs) => `endpoint-propagation-${outs.checkedAt}`,
  update: (_olds, news, context) => runGate(news, context),
  delete: "A check leaves nothing behind.",
});

export class EndpointPropagationResource extends dynamicResource(endpointPropagationProvider) {}

export interface EndpointPropagationArgs {
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

const OUTPUTS = ["checkedAt", "endpoints"] as const;

export class EndpointPropagation extends pulumi.ComponentResource {
  public readonly resource: EndpointPropagationResource;

  constructor(name: string, args: EndpointPropagationArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(TYPES.component, name, {}, opts);
    const { propagation } = args.endpoints;
    this.resource = new EndpointPropagationResource(
      name,
      {
        checks: pulumi.secret(endpointsToCheck(args.endpoints)),
        dnsServers: propagation.dnsServers,
        ttlSeconds: propagation.ttlSeconds,
        switchedAt: args.switchedAt,
        timeoutSeconds: propagation.timeoutSeconds,
        intervalSeconds: propagation.intervalSeconds,
      },
      { parent: this, customTimeouts: beyondGateTimeout(propagation.timeoutSeconds) },
    );
    this.registerOutputs(outputsOf(this.resource, OUTPUTS));
  }
}

export const endpointPropagationGate = defineGate("endpoint-propagation", {
  register: ({ name, endpoints }, context, opts) => {
    // The endpoint record stands ahead of the steps whenever endpoints are configured.
    const record = context.registered("endpoint-switch", EndpointSwitch);
    if (!record) throw new Error(`internal: ${name} is registered without the endpoint record`);
    return new EndpointPropagation(
      name,
      { endpoints, switchedAt: record.resource.switchedAt },
      {
        ...opts,
        dependsOn: [...[opts.dependsOn ?? []].flat(), record.done] as pulumi.Input<pulumi.Resource>[],
      },
    );
  },
  audit: ({ resource }) => ({ endpointPropagation: outputsOf(resource, OUTPUTS) }),
});
