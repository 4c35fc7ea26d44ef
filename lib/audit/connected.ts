import { Cron } from 'croner';
import type { RegistrySettings } from '../core/registries.js';
import type { Clock } from '../core/clock.js';
import type { NoticeEvent, Outbox } from '../core/outbox.js';
import { connectedRegistryRemediation, problemFromStatusCode } from './connected-remediation.js';
import type { Logger } from '../core/logging.js';
import type { ConnectedRegistryReport, ConnectedRegistryState } from '../reports/model.js';
import type { AuditStore } from './ports.js';

/** What the audit reads of a connected registry (the fields of @azure/arm-containerregistry's ConnectedRegistry). */
export interface ConnectedRegistryView {
  readonly name?: string;
  readonly mode?: string;
  readonly version?: string;
  readonly connectionState?: string;
  readonly lastActivityTime?: Date;
  readonly activation?: { readonly status?: string };
  readonly parent?: {
    readonly syncProperties?: {
      readonly schedule?: string;
      readonly syncWindow?: string;
      readonly lastSyncTime?: Date;
    };
  };
  readonly statusDetails?: ReadonlyArray<{
    readonly type?: string;
    readonly code?: string;
    readonly description?: string;
  }>;
}

export interface ConnectedAuditDependencies {
  readonly registries: readonly RegistrySettings[];
  /** Lists a registry's connected registries through ARM. */
  readonly list: (registry: RegistrySettings) => AsyncIterable<ConnectedRegistryView>;
  readonly store: AuditStore;
  readonly outbox: Outbox;
  readonly clock: Clock;
  /** 0: derive the stale threshold from each connected registry's sync schedule and window. */
  readonly staleMinutes: number;
}

const bad: ReadonlySet<ConnectedRegistryState> = new Set(['stale', 'unhealthy', 'offline']);

/**
 * The connected-registry audit: classifies every connected registry of every configured registry and alerts on
 * transitions only — into stale, into unhealthy (or offline after being active), and back to health (recovered) —
 * so a registry that stays stale for a week raises one alert, not 672.
 */
export class ConnectedRegistryAudit {
  constructor(private readonly deps: ConnectedAuditDependencies) {}

  async run(log: Logger): Promise<Map<string, ConnectedRegistryReport[]>> {
    const results = new Map<string, ConnectedRegistryReport[]>();
    for (const registry of this.deps.registries) {
      try {
        results.set(registry.name, await this.auditRegistry(registry, log));
      } catch (error) {
        log.warn(
          `connected registries of ${registry.name} could not be read from ARM: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}; grant the app's identity Reader on the registry`,
          { registry: registry.name },
        );
      }
    }
    return results;
  }

  private async auditRegistry(registry: RegistrySettings, log: Logger): Promise<ConnectedRegistryReport[]> {
    const now = this.deps.clock.now();
    const previous = await this.deps.store.connectedStates(registry.name);
    const reports: ConnectedRegistryReport[] = [];
    for await (const connected of this.deps.list(registry)) {
      if (!connected.name) continue;
      const report = classifyConnectedRegistry(registry.name, connected, now, this.deps.staleMinutes);
      reports.push(report);
      const before = previous.get(connected.name);
      if (before?.record.state === report.state) continue;
      const event = transitionEvent(registry.name, report, before?.record.state, before?.record.since, now);
      // The event first: if saving the state fails or loses a race, the same transition yields the same event id.
      if (event) await this.deps.outbox.append(event);
      await this.deps.store.saveConnectedState(
        {
          registry: registry.name,
          name: connected.name,
          state: report.state,
          since: now.toISOString(),
          ...(report.reason ? { reason: report.reason } : {}),
        },
        before?.etag,
      );
      if (event)
        log.warn(
          `connected registry ${registry.name}/${connected.name}: ${before?.record.state ?? 'unknown'} → ${report.state}`,
          { registry: registry.name, connectedRegistry: connected.name },
        );
    }
    return reports;
  }
}

export function classifyConnectedRegistry(
  registry: string,
  connected: ConnectedRegistryView,
  now: Date,
  staleMinutes: number,
): ConnectedRegistryReport {
  const name = connected.name ?? '';
  const sync = connected.parent?.syncProperties;
  const base = {
    name,
    ...(connected.connectionState ? { connectionState: connected.connectionState } : {}),
    ...(connected.mode ? { mode: connected.mode } : {}),
    ...(connected.lastActivityTime ? { lastActivityTime: connected.lastActivityTime.toISOString() } : {}),
    ...(sync?.lastSyncTime ? { lastSyncTime: sync.lastSyncTime.toISOString() } : {}),
    ...(sync?.schedule ? { syncSchedule: sync.schedule } : {}),
  };
  const names = {
    registry,
    connectedRegistry: name,
    ...(sync?.schedule ? { syncSchedule: sync.schedule } : {}),
    ...(sync?.syncWindow ? { syncWindow: sync.syncWindow } : {}),
  };
  if (connected.activation?.status === 'Inactive') {
    return {
      ...base,
      state: 'inactive',
      reason: 'never activated',
      remediation: connectedRegistryRemediation('neverActivated', names),
    };
  }
  const errors = (connected.statusDetails ?? []).filter((detail) => /error|fail/i.test(detail.type ?? ''));
  if (connected.connectionState === 'Unhealthy' || errors.length > 0) {
    const detail = errors[0];
    const problem = (detail?.code && problemFromStatusCode(detail.code)) || 'unhealthy';
    return {
      ...base,
      state: 'unhealthy',
      reason: detail ? `${detail.code ?? ''}: ${detail.description ?? ''}`.trim() : 'reported Unhealthy',
      remediation: connectedRegistryRemediation(problem, names),
    };
  }
  if (connected.connectionState === 'Offline') {
    return {
      ...base,
      state: 'offline',
      reason: 'offline',
      remediation: connectedRegistryRemediation('offline', names),
    };
  }
  const thresholdMinutes = staleMinutes > 0 ? staleMinutes : derivedStaleMinutes(sync?.schedule, sync?.syncWindow);
  const last = connected.lastActivityTime?.getTime();
  if (last === undefined || now.getTime() - last > thresholdMinutes * 60_000) {
    const ago = last === undefined ? 'never' : `${Math.round((now.getTime() - last) / 60_000)} minutes ago`;
    return {
      ...base,
      state: 'stale',
      reason: `last activity ${ago}; more than ${thresholdMinutes} minutes allowed by its sync schedule`,
      remediation: connectedRegistryRemediation('stale', names),
    };
  }
  return { ...base, state: connected.connectionState === 'Syncing' ? 'syncing' : 'healthy' };
}

/**
 * How long without activity is too long: two sync intervals plus the sync window, and never under an hour (a
 * continuous schedule syncs every minute, but a brief network blip is not an incident).
 */
export function derivedStaleMinutes(schedule: string | undefined, syncWindow: string | undefined): number {
  let intervalMinutes = 60;
  if (schedule) {
    try {
      const [first, second] = new Cron(schedule, { paused: true, timezone: 'UTC' }).nextRuns(2);
      if (first && second) intervalMinutes = (second.getTime() - first.getTime()) / 60_000;
    } catch {
      // An unreadable schedule keeps the hourly assumption.
    }
  }
  return Math.max(60, Math.round(2 * intervalMinutes + isoDurationMinutes(syncWindow)));
}

/** ISO 8601 durations as ARM uses them for sync windows (PT3H, P1D, PT30M). */
export function isoDurationMinutes(duration: string | undefined): number {
  const match = duration ? /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(duration) : null;
  if (!match) return 0;
  return (
    Number(match[1] ?? 0) * 1_440 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0) + Number(match[4] ?? 0) / 60
  );
}

function transitionEvent(
  registry: string,
  report: ConnectedRegistryReport,
  before: ConnectedRegistryState | undefined,
  beforeSince: string | undefined,
  now: Date,
): NoticeEvent | undefined {
  const into = report.state;
  let type: NoticeEvent['type'] | undefined;
  if (into === 'stale' && !bad.has(before ?? 'healthy')) type = 'connectedRegistry.stale';
  else if ((into === 'unhealthy' || into === 'offline') && before !== 'unhealthy' && before !== 'offline')
    type = 'connectedRegistry.unhealthy';
  else if ((into === 'healthy' || into === 'syncing') && before !== undefined && bad.has(before))
    type = 'connectedRegistry.recovered';
  if (type === undefined) return undefined;
  const word = type === 'connectedRegistry.recovered' ? 'recovered' : into;
  return {
    id: `${type}:${registry}:${report.name}:${before ?? 'unknown'}:${beforeSince ?? 'first'}`,
    type,
    time: now.toISOString(),
    registry,
    message: `Connected registry ${report.name} of ${registry} is ${word}${report.reason ? ` (${report.reason})` : ''}`,
    ...(report.remediation && type !== 'connectedRegistry.recovered' ? { remediation: report.remediation } : {}),
    facts: {
      'Connected registry': report.name,
      State: into,
      ...(before ? { Before: before } : {}),
      ...(report.lastActivityTime ? { 'Last activity': report.lastActivityTime } : {}),
      ...(report.syncSchedule ? { 'Sync schedule': report.syncSchedule } : {}),
    },
  };
}
