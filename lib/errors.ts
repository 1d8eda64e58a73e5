/**
 * Errors an operator can act on. The CLI prints `message` as one line without a stack
 * trace; the Pulumi program fails the update with it.
 *
 * These classes are serialized into dynamic providers, where `super(message)` becomes
 * `Error.call(this, message)` (which leaves `this` untouched) and `new.target` does not
 * exist: so each class sets its name as a literal, and the message is set explicitly,
 * because the provider host reports `error.message` to the operator.
 */
export class MaintenanceError extends Error {
  constructor(message: string) {
    super(message);
    this.message = message;
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

// An array, not a Set: the provider serializer copies a Set as an empty plain object.
const MAINTENANCE_ERROR_NAMES: readonly string[] = ["MaintenanceError", "ConfigError", "GateError"];

/**
 * True for our own errors, also where `instanceof` fails: inside a serialized provider the
 * classes are copies (see above).
 */
export function isMaintenanceError(error: unknown): error is MaintenanceError {
  return (
    typeof error === "object" &&
    error !== null &&
    MAINTENANCE_ERROR_NAMES.includes(String((error as { name?: unknown }).name)) &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/**
 * Describe any thrown value as one line, without a stack trace. Reads `message` from any
 * object: errors thrown by serialized classes are not `instanceof Error`.
 */
export function oneLine(error: unknown): string {
  const message =
    typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined;
  const text = typeof message === "string" ? message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
