import type { StackConfig } from "../../lib/stackConfig";
import type { PlatformAdapter } from "./adapter";
import { createComposeAdapter } from "./compose";
import { createEcsAdapter } from "./ecs";
import { createKubernetesAdapter } from "./kubernetes";

export function createPlatformAdapter(config: StackConfig): PlatformAdapter {
  switch (config.platform) {
    case "ecs":
      return createEcsAdapter(config.ecs);
    case "kubernetes":
      return createKubernetesAdapter(config.kubernetes);
    case "compose":
      return createComposeAdapter(config.compose);
  }
}
