/**
 * The runbook's order as the seed writes it, spelled out once for every test to compare the
 * program with (never derived from lib/plan, which is what the tests check).
 */

/** The seed's scale-down order, by service key; startup is the exact reverse. */
export const SEED_ORDER = [
  "nginx",
  "tines-app",
  "tines-sidekiq",
  "tines-command-runner",
  "redis",
  "postgres",
  "pypi-server",
] as const;

/** The same order by the service names of Tines' Compose files. */
export const SEED_COMPOSE_ORDER = SEED_ORDER.map((key) => (key === "nginx" ? "tines-nginx" : key));

/** Every step of a shutdown with every gate switched on, in order. */
export const SHUTDOWN_STEPS = [
  "sidekiq-preflight",
  "maintenance-window",
  "nginx",
  "tines-app",
  "sidekiq-drain",
  "tines-sidekiq",
  "tines-command-runner",
  "database-backup",
  "redis",
  "postgres",
  "pypi-server",
  "database-migration",
  "endpoint-switch",
];

/** Every step of a startup with every gate switched on, in order. */
export const STARTUP_STEPS = [
  "maintenance-window",
  "endpoint-propagation",
  ...[...SEED_ORDER].reverse(),
  "tines-health",
];

/** The steps of `steps` but those named. */
export function without(steps: readonly string[], ...names: string[]): string[] {
  return steps.filter((step) => !names.includes(step));
}
