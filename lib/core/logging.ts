/**
 * The narrow logger the domain writes to. `InvocationContext` satisfies it, so handlers pass their context
 * straight through and every line lands in the invocation's log (and Application Insights in Azure).
 * Never pass secrets, tokens or full webhook URLs.
 */
export interface Logger {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Structured fields attached to log lines on the conversion path (registry, repository, digest, …). */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export const silentLogger: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
