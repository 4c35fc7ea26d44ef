import type { ComplianceReport, ConnectedRegistryReport, ConnectedRegistryState, RegistryReport } from './model.js';

/** streamable / eligible × 100 with one decimal; 100 when nothing is eligible (the model's rule). */
export function coveragePercent(streamable: number, eligible: number): number {
  if (eligible <= 0) return 100;
  return Math.round((streamable / eligible) * 1_000) / 10;
}

/** Figures of a whole report, summed over its registries. */
export interface ReportTotals {
  readonly registries: number;
  readonly repositories: number;
  readonly eligible: number;
  readonly streamable: number;
  readonly missing: number;
  readonly failed: number;
  readonly inProgress: number;
  readonly ineligible: number;
  readonly coveragePercent: number;
  readonly connectedRegistries: number;
  readonly connectedNeedingAttention: number;
}

export function reportTotals(report: ComplianceReport): ReportTotals {
  const sum = (pick: (registry: RegistryReport) => number): number =>
    report.registries.reduce((total, registry) => total + pick(registry), 0);
  const eligible = sum((registry) => registry.totals.eligible);
  const streamable = sum((registry) => registry.totals.streamable);
  return {
    registries: report.registries.length,
    repositories: sum((registry) => registry.totals.repositories),
    eligible,
    streamable,
    missing: sum((registry) => registry.totals.missing),
    failed: sum((registry) => registry.totals.failed),
    inProgress: sum((registry) => registry.totals.inProgress),
    ineligible: sum((registry) => registry.totals.ineligible),
    coveragePercent: coveragePercent(streamable, eligible),
    connectedRegistries: sum((registry) => registry.connectedRegistries.length),
    connectedNeedingAttention: sum((registry) => registry.connectedRegistries.filter(needsAttention).length),
  };
}

/** Healthy and syncing connected registries are fine; every other state wants someone to look. */
export function needsAttention(connected: Pick<ConnectedRegistryReport, 'state'>): boolean {
  return connected.state !== 'healthy' && connected.state !== 'syncing';
}

/** Words for a state, so no status is told by colour alone. */
export const connectedStateLabels: Record<ConnectedRegistryState, string> = {
  healthy: 'Healthy',
  syncing: 'Syncing',
  stale: 'Stale',
  offline: 'Offline',
  unhealthy: 'Unhealthy',
  inactive: 'Never activated',
};

/** Failures of all registries merged by error code, most frequent first. */
export function mergedTopFailures(
  report: ComplianceReport,
  limit = 10,
): Array<{ errorCode: string; count: number; remediation: string; examples: string[]; registries: string[] }> {
  const merged = new Map<
    string,
    { errorCode: string; count: number; remediation: string; examples: string[]; registries: string[] }
  >();
  for (const registry of report.registries) {
    for (const failure of registry.topFailures) {
      const entry = merged.get(failure.errorCode) ?? {
        errorCode: failure.errorCode,
        count: 0,
        remediation: failure.remediation,
        examples: [],
        registries: [],
      };
      entry.count += failure.count;
      entry.examples.push(...failure.examples.slice(0, Math.max(0, 3 - entry.examples.length)));
      if (!entry.registries.includes(registry.registry)) entry.registries.push(registry.registry);
      merged.set(failure.errorCode, entry);
    }
  }
  return [...merged.values()]
    .sort((a, b) => b.count - a.count || a.errorCode.localeCompare(b.errorCode))
    .slice(0, limit);
}
