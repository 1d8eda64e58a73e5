/**
 * The plan: the services and their order (./services.ts), the gates (./gates.ts), the steps of
 * one update (./plan.ts) and every name and type token the program registers (./names.ts).
 */
export * from "./gates";
export * from "./names";
export * from "./plan";
export * from "./services";
