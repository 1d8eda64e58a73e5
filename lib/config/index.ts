/**
 * The stack config: the core keys (./core.ts), the whole config with each concern's section
 * (./stackConfig.ts), the one way to check inputs (./validation.ts) and the stack file the
 * `plan` CLI reads (./stackFile.ts).
 */
export * from "./core";
export * from "./stackConfig";
export * from "./stackFile";
export * from "./validation";
export * from "./credentials";
