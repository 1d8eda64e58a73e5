import { describe, expect, it } from "vitest";
import { ConfigError, GateError, MaintenanceError, isMaintenanceError, oneLine } from "./errors";

describe("errors", () => {
  it("carry their name and message", () => {
    const error = new ConfigError("tines-maintenance:phase: required");
    expect(error.name).toBe("ConfigError");
    expect(error.message).toBe("tines-maintenance:phase: required");
    expect(error).toBeInstanceOf(MaintenanceError);
    expect(new GateError("x").name).toBe("GateError");
  });

  it("are recognised by name, as copies serialized into a provider are", () => {
    expect(isMaintenanceError(new GateError("refused"))).toBe(true);
    expect(isMaintenanceError({ name: "ConfigError", message: "bad key" })).toBe(true);
    expect(isMaintenanceError(new Error("boom"))).toBe(false);
    expect(isMaintenanceError({ name: "ConfigError" })).toBe(false);
    expect(isMaintenanceError("ConfigError")).toBe(false);
  });

  it("describe anything as one line", () => {
    expect(oneLine(new Error("first\n  second"))).toBe("first second");
    expect(oneLine({ name: "GateError", message: "not an Error instance" })).toBe("not an Error instance");
    expect(oneLine("plain")).toBe("plain");
  });
});
