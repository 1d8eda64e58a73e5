import type * as pulumi from "@pulumi/pulumi";
import { awsSettingsFromConfig, type AwsSettings } from "../../lib/aws/settings";

/**
 * A provider that reads the stack's `aws:*` settings, as the AWS provider would: the engine
 * hands them to `configure` in the provider process. They live in a holder that is
 * serialized empty, so no profile or region is frozen into the state and a changed setting
 * applies at the next update. `build` gets a function that returns the current settings.
 */
export function withAwsSettings(
  build: (aws: () => AwsSettings) => pulumi.dynamic.ResourceProvider,
): pulumi.dynamic.ResourceProvider {
  const stack: { aws: AwsSettings } = { aws: {} };
  return {
    ...build(() => stack.aws),
    async configure(req: pulumi.dynamic.ConfigureRequest) {
      stack.aws = awsSettingsFromConfig((key) => req.config.get(key));
    },
  };
}
