/**
 * Errors an operator can act on. The CLI prints `message` as one line without a stack
 * trace; the Pulumi program fails the update with it.
 *
 * Each class sets its name as a literal: these classes are serialized into dynamic
 * providers, where `new.target` is not available.
 */
export class MaintenanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MaintenanceError";
  }
}

/** Invalid stack config or CLI flags: names the key and the allowed values. */
export class ConfigError extends MaintenanceError {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A safety gate refused to let the procedure continue; nothing was changed by it. */
export class GateError extends MaintenanceError {
  constructor(message: string) {
    super(message);
    this.name = "GateError";
  }
}

/** Describe any thrown value as one line, without a stack trace. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
