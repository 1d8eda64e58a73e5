import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../lib/config/stackConfig";
import type { PlatformAdapter } from "./adapter";
import { createComposeAdapter } from "./compose";
import { createEcsAdapter } from "./ecs";
import { createKubernetesAdapter } from "./kubernetes";

/** `parent` owns whatever the adapter registers once for all steps (the Kubernetes provider). */
export function createPlatformAdapter(config: StackConfig, parent: pulumi.Resource): PlatformAdapter {
  switch (config.platform) {
    case "ecs":
      return createEcsAdapter(config.ecs);
    case "kubernetes":
      return createKubernetesAdapter(config.kubernetes, { parent });
    case "compose":
      return createComposeAdapter(config.compose);
  }
}
