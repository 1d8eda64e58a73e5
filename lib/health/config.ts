/**
 * The `health` and `versionGuard` sections of the stack config (README, "Tines itself").
 * Pure, so the program and the `plan` CLI validate them the same way.
 */
import { z } from "zod";
import { SECRET_PLACEHOLDER } from "../config/core";
import { booleanSchema, isUrlWith, wholeNumber } from "../config/validation";

const HEALTH_URL_MESSAGE =
  "must be an http:// or https:// URL of tines-app's /is_up or /health (e.g. http://tines-app:3000/is_up)";

const seconds = (min: number, max: number) => wholeNumber(min, max, "seconds");

export const healthConfigSchema = z
  .strictObject({
    /** Where Tines reports its health: the proxy, a load balancer or the service itself. */
    url: z
      .string({ error: `required; ${HEALTH_URL_MESSAGE}` })
      .refine((value) => value === SECRET_PLACEHOLDER || isUrlWith(value, ["http:", "https:"]), {
        error: HEALTH_URL_MESSAGE,
      }),
    /** How long the startup waits for a healthy answer before it fails. */
    timeoutSeconds: seconds(10, 86_400).default(900),
    /** Time between two requests. */
    intervalSeconds: seconds(1, 300).default(5),
  })
  .superRefine((raw, ctx) => {
    if (raw.intervalSeconds >= raw.timeoutSeconds) {
      ctx.addIssue({
        code: "custom",
        path: ["intervalSeconds"],
        message: `must be less than health.timeoutSeconds (${raw.timeoutSeconds})`,
      });
    }
  });

export type HealthConfig = z.infer<typeof healthConfigSchema>;

export const versionGuardConfigSchema = z.strictObject({
  /** Start even though a Tines image changed during the window; the startup's audit records it. */
  allowChange: booleanSchema.default(false),
});

export type VersionGuardConfig = z.infer<typeof versionGuardConfigSchema>;
