import * as pulumi from "@pulumi/pulumi";
import type { ProgressReporter } from "../../lib/progress";

/**
 * Progress of a dynamic provider's waits, as engine log lines. A plain object that only
 * references `pulumi.log`, so it serializes with each provider that captures it.
 */
export const pulumiReporter: ProgressReporter = {
  info: (message) => void pulumi.log.info(message),
  warn: (message) => void pulumi.log.warn(message),
};
