/** Health of the app and of what it depends on, for GET /api/health. */
export interface DependencyHealth {
  readonly name: string;
  readonly status: 'up' | 'down';
  readonly latencyMs: number;
  readonly error?: string;
}

export interface HealthReport {
  readonly status: 'healthy' | 'degraded';
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
    status: dependencies.every((dependency) => dependency.status === 'up') ? 'healthy' : 'degraded',
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
