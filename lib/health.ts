import type { Clock } from './core/clock.js';

/** Health of the app and of what it depends on: the status for GET /api/health, all of it for /api/health/details. */
export type HealthStatus = 'ok' | 'degraded';

/**
 * How long the anonymous status answers from its last live probe (issue #17 §4: at most one live probe per interval,
 * so anonymous callers cannot make the app hammer storage and the registries). 30 s is shorter than what watches it:
 * App Service Health check pings every minute (learn.microsoft.com/azure/app-service/monitor-instances-health-check),
 * an Application Insights availability test every 5 minutes by default
 * (learn.microsoft.com/azure/azure-monitor/app/availability). The cache is per worker process.
 */
export const healthProbeIntervalMs = 30_000;

export interface DependencyHealth {
  readonly name: string;
  readonly status: 'up' | 'down';
  readonly latencyMs: number;
  readonly error?: string;
}

export interface HealthReport {
  readonly status: HealthStatus;
  readonly version: string;
  readonly time: string;
  readonly config: Record<string, unknown>;
  readonly dependencies: readonly DependencyHealth[];
}

export interface HealthDependencies {
  readonly version: string;
  readonly configSummary: Record<string, unknown>;
  /** Named probes; each resolves when its dependency answers and rejects with a reason otherwise. */
  readonly probes: ReadonlyArray<{ readonly name: string; readonly probe: () => Promise<void> }>;
  readonly now: () => number;
}

/** Runs every probe in parallel; one failing probe degrades the report but never fails the request. */
export async function checkHealth(deps: HealthDependencies): Promise<HealthReport> {
  const dependencies = await Promise.all(deps.probes.map(({ name, probe }) => timeProbe(name, probe, deps.now)));
  return {
    status: dependencies.every((dependency) => dependency.status === 'up') ? 'ok' : 'degraded',
    version: deps.version,
    time: new Date(deps.now()).toISOString(),
    config: deps.configSummary,
    dependencies,
  };
}

async function timeProbe(name: string, probe: () => Promise<void>, now: () => number): Promise<DependencyHealth> {
  const started = now();
  try {
    await probe();
    return { name, status: 'up', latencyMs: now() - started };
  } catch (error) {
    return { name, status: 'down', latencyMs: now() - started, error: describeProbeError(error) };
  }
}

function describeProbeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

/**
 * `probe`, run live at most once per `intervalMs`: a caller within the interval gets the last probe's promise, still
 * running or settled, rejected included (a failure is an answer too, and must not let callers force live probes).
 */
export function cachedProbe<Input extends unknown[], Result>(
  probe: (...input: Input) => Promise<Result>,
  options: { readonly intervalMs: number; readonly clock: Clock },
): (...input: Input) => Promise<Result> {
  let last: { readonly startedAt: number; readonly result: Promise<Result> } | undefined;
  return (...input) => {
    const now = options.clock.now().getTime();
    if (last === undefined || now - last.startedAt >= options.intervalMs) {
      const result = probe(...input);
      // Callers that only share the cached answer may never await it; its rejection is theirs, not unhandled.
      result.catch(() => undefined);
      last = { startedAt: now, result };
    }
    return last.result;
  };
}
