import { expect } from "vitest";
import { ConfigError } from "../lib/errors";

/** The message of the ConfigError `parse` throws; the test fails when it throws none, or another error. */
export function configErrorOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}
