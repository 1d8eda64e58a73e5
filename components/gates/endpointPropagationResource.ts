import * as pulumi from "@pulumi/pulumi";
import { sha256 } from "../../lib/endpoints/guard";
import { waitForPropagation, type EndpointToCheck } from "../../lib/endpoints/propagation";
import { DYNAMIC_TYPES } from "../../lib/plan/names";
import { beyondGateTimeout } from "../provider/gateOptions";
import { MaintenanceResource } from "../provider/maintenanceResource";
import { pulumiReporter } from "../provider/pulumiReporter";
import { operatorFacing } from "../provider/operatorFacing";
import { timed } from "../provider/timed";

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

async function runGate(inputs: EndpointPropagationInputs): Promise<EndpointPropagationOutputs> {
  const reports = await waitForPropagation(inputs.checks, {
    dnsServers: inputs.dnsServers,
    ...(inputs.ttlSeconds !== undefined ? { ttlSeconds: inputs.ttlSeconds } : {}),
    ...(inputs.switchedAt !== undefined ? { switchedAt: inputs.switchedAt } : {}),
    timeoutSeconds: inputs.timeoutSeconds,
    intervalSeconds: inputs.intervalSeconds,
    reporter: pulumiReporter,
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

/**
 * The gate at the start of startup: resolves, waits out the TTL since the switch, connects
 * and pings each endpoint; the update fails (before any service starts, since they all
 * depend on it) naming the endpoint and the check. Only registered in running phase, so
 * it is created, and so checks, at every startup.
 */
export const endpointPropagationProvider: pulumi.dynamic.ResourceProvider = operatorFacing(
  timed({
    async check(_olds: unknown, news: EndpointPropagationInputs) {
      return { inputs: news };
    },
    async diff(_id: string, olds: EndpointPropagationOutputs, news: EndpointPropagationInputs) {
      return { changes: olds.inputsSha256 !== fingerprint(news) };
    },
    async create(inputs: EndpointPropagationInputs) {
      const outs = await runGate(inputs);
      return { id: `endpoint-propagation-${outs.checkedAt}`, outs };
    },
    async update(_id: string, _olds: EndpointPropagationOutputs, news: EndpointPropagationInputs) {
      return { outs: await runGate(news) };
    },
    async delete() {
      // A check leaves nothing behind.
    },
  }),
);

/** The `endpoint-propagation` gate's resource; its inputs are EndpointPropagationInputs. */
export class EndpointPropagationResource extends MaintenanceResource {
  declare readonly checkedAt: pulumi.Output<string>;
  declare readonly endpoints: pulumi.Output<EndpointPropagationOutputs["endpoints"]>;

  constructor(
    name: string,
    inputs: { [K in keyof EndpointPropagationInputs]: pulumi.Input<EndpointPropagationInputs[K]> } & {
      timeoutSeconds: number;
    },
    opts: pulumi.CustomResourceOptions,
  ) {
    super(
      endpointPropagationProvider,
      DYNAMIC_TYPES.endpointPropagation,
      name,
      inputs,
      ["checkedAt", "endpoints", "inputsSha256"],
      {
        ...opts,
        additionalSecretOutputs: ["inputsSha256"],
        customTimeouts: beyondGateTimeout(inputs.timeoutSeconds),
      },
    );
  }
}
