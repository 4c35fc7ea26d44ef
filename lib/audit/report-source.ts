import type { RegistrySettings } from '../core/registries.js';
import type { Logger } from '../core/logging.js';
import type { RegistryReadiness } from '../policy/eligibility.js';
import type { PolicySource } from '../policy/model.js';
import type {
  FindingStatus,
  ConnectedRegistryReport,
  NotStreamingImage,
  ConsumersSection,
  ImageFinding,
  RegistryReport,
  ReportDataSource,
  RepositoryCoverage,
  SwitchDriftReport,
} from '../reports/model.js';
import { notStreamingImageLimit } from '../reports/model.js';
import { coverage } from './images.js';
import { countFinding, type AuditRun, type StoredFinding } from './model.js';
import type { AuditStore } from './ports.js';
import type { SwitchDriftStore } from '../policy/drift.js';
import { consumersNotConfigured } from './consumers-section.js';

/** What a conversion row says of an image, for the report (lib/conversion/record.ts has the row). */
export interface ConversionOutcome {
  readonly repository: string;
  readonly digest: string;
  readonly status: string;
  readonly tags: readonly string[];
  readonly reason: string;
  readonly updatedAt: string;
  readonly lastErrorCode?: string;
  readonly remediation?: string;
  readonly skipReason?: string;
  readonly platforms?: string;
  readonly sizeBytes?: number;
}

export interface ReportSourceDependencies {
  readonly registries: readonly RegistrySettings[];
  readonly store: AuditStore;
  /** ACR-switch drift episodes (issue #15); without it the report lists none. */
  readonly drift?: Pick<SwitchDriftStore, 'driftRecords'>;
  readonly policies: PolicySource;
  readonly readiness: (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness>;
  /** Connected registries classified now (ARM), or undefined when ARM cannot be read. */
  readonly connectedRegistries: (
    registry: RegistrySettings,
    log: Logger,
  ) => Promise<ConnectedRegistryReport[] | undefined>;
  /**
   * The AKS clusters that pull from the registry and whether they can stream, surveyed now (ARM; issue #20);
   * undefined when no scope is configured (lib/audit/consumers-section.ts builds it). Without it the section says
   * consumers are not configured.
   */
  readonly consumers?: (registry: RegistrySettings, log: Logger) => Promise<ConsumersSection | undefined>;
  /** Whether an Event Grid subscription delivers pushes to this app; undefined when ARM cannot tell. */
  readonly eventSubscription?: (registry: RegistrySettings, log: Logger) => Promise<boolean | undefined>;
  /**
   * The conversion rows of a registry written at or after an instant (the latest audit's start): what the push
   * path and hand-started conversions learned since the audit, so a report made right after a conversion shows it.
   */
  readonly conversionsSince?: (registry: string, since: Date) => AsyncIterable<ConversionOutcome>;
  readonly log: Logger;
}

/**
 * Report content from the audits' state. The stored findings are the current ones: the audit writes a finding when
 * what it says changes and deletes those of images a repository's full listing no longer names, of repositories gone
 * from the catalog and of repositories whose policy is off (issue #19 § 4), so every stored finding is reported.
 */
export class AuditReportSource implements ReportDataSource {
  constructor(private readonly deps: ReportSourceDependencies) {}

  async registryReport(name: string): Promise<RegistryReport> {
    const registry = this.registry(name);
    const runs = await this.deps.store.recentRuns(name, 30);
    const latest = runs.find((run) => run.complete);
    const readiness = await this.deps.readiness(registry, this.deps.log);
    const byRepository = new Map<string, RepositoryCoverage>();
    const failures = new Map<string, { count: number; remediation: string; examples: string[] }>();
    const seen = { conversionRecords: 0 };
    const notStreaming = new NotStreamingImages(notStreamingImageLimit);
    for await (const finding of this.current(name, latest, seen)) {
      notStreaming.add(finding);
      const row = byRepository.get(finding.repository) ?? (await this.emptyCoverage(name, finding.repository));
      byRepository.set(finding.repository, countFinding(row, finding.status));
      if (finding.status === 'failed') {
        const code = finding.errorCode ?? 'UNKNOWN';
        const entry = failures.get(code) ?? { count: 0, remediation: finding.remediation ?? '', examples: [] };
        entry.count++;
        if (entry.examples.length < 3) entry.examples.push(`${finding.repository}@${finding.digest.slice(7, 19)}`);
        failures.set(code, entry);
      }
    }
    const repositories = [...byRepository.values()]
      .map((row) => ({ ...row, coveragePercent: coverage(row) }))
      .sort((a, b) => a.repository.localeCompare(b.repository));
    const sum = (key: 'eligible' | 'streamable' | 'missing' | 'failed' | 'inProgress' | 'ineligible'): number =>
      repositories.reduce((total, row) => total + row[key], 0);
    const totals = {
      eligible: sum('eligible'),
      streamable: sum('streamable'),
      missing: sum('missing'),
      failed: sum('failed'),
      inProgress: sum('inProgress'),
      ineligible: sum('ineligible'),
    };
    const notes = [
      readiness.unknown !== undefined
        ? `Readiness unknown: could not read the registry from ARM (${readiness.unknown}); conversions are attempted and ACR decides. Grant the app's identity Reader on the registry.`
        : (readiness.reason ??
          (readiness.ready
            ? 'Premium registry without customer-managed keys: artifact streaming is available'
            : 'readiness unknown')),
    ];
    // When the figures were collected, said plainly (issue #18 § 5).
    notes.push(
      latest === undefined
        ? `No audit has completed yet: the figures are only the ${seen.conversionRecords} image(s) the app has recorded conversions for. Run one now: POST /api/audits.`
        : `Figures: the audit of ${latest.completedAt ?? latest.startedAt}, brought up to date with ${seen.conversionRecords} conversion record(s) written since; images nobody pushed or converted since are as that audit saw them (POST /api/audits, then POST /api/reports, to look again).`,
    );
    if (latest?.catalogRefused !== undefined)
      notes.push(
        `The last audit could not list the registry's repositories (${latest.catalogRefused}): grant the app's identity Reader, or on ABAC-mode registries Container Registry Repository Catalog Lister and Repository Reader.`,
      );
    if ((latest?.unreadable?.length ?? 0) > 0) {
      const unreadable = latest!.unreadable!;
      notes.push(
        `The last audit could not read ${unreadable.length} repositories: ${unreadable.slice(0, 10).join(', ')}${unreadable.length > 10 ? ', …' : ''} (ACR refused; check the identity's roles and ABAC conditions).`,
      );
    }
    const connected = await this.deps.connectedRegistries(registry, this.deps.log);
    if (connected === undefined)
      notes.push('Connected registries could not be read from ARM (grant Reader on the registry).');
    const consumers = (await this.deps.consumers?.(registry, this.deps.log)) ?? consumersNotConfigured();
    const subscribed = await this.deps.eventSubscription?.(registry, this.deps.log);
    if (subscribed === undefined)
      notes.push(
        "Event Grid subscription: could not be checked (grant Reader on the resource group of the registry's system topic).",
      );
    else if (!subscribed)
      notes.push(
        'No Event Grid subscription delivers ImagePushed to this app: pushes are only found by the hourly audit. Run the azd postdeploy hook (infra/eventgrid.bicep).',
      );
    return {
      registry: name,
      loginServer: registry.loginServer,
      readiness: {
        ...(readiness.sku ? { premium: readiness.sku === 'Premium' } : {}),
        ...(readiness.customerManagedKey !== undefined ? { customerManagedKey: readiness.customerManagedKey } : {}),
        ...(subscribed !== undefined ? { eventSubscription: subscribed } : {}),
        ready: readiness.ready,
        notes,
      },
      totals: {
        repositories: latest?.counters.repositories ?? repositories.length,
        repositoriesWithPolicy: latest?.counters.repositoriesWithPolicy ?? repositories.length,
        repositoriesWithoutPolicy: latest ? latest.counters.repositories - latest.counters.repositoriesWithPolicy : 0,
        // Runs from before the count was kept lack it: the checklist then says it cannot tell.
        ...(latest?.counters.repositoriesOnDefault === undefined
          ? {}
          : { repositoriesOnDefaultPolicy: latest.counters.repositoriesOnDefault }),
        ...totals,
        coveragePercent: coverage(totals),
      },
      repositories,
      topFailures: [...failures.entries()]
        .sort((a, b) => b[1].count - a[1].count)
        .slice(0, 10)
        .map(([errorCode, entry]) => ({ errorCode, ...entry })),
      connectedRegistries: connected ?? [],
      drift: await this.drift(name),
      imagesNotStreaming: notStreaming.list(),
      consumers,
      trend: runs
        .filter((run) => run.complete)
        .reverse()
        .map((run) => ({
          time: run.completedAt ?? run.startedAt,
          coveragePercent: coverage(run.counters),
          eligible: run.counters.eligible,
          streamable: run.counters.streamable,
        })),
      ...(latest
        ? {
            audit: {
              runId: latest.runId,
              startedAt: latest.startedAt,
              ...(latest.completedAt ? { completedAt: latest.completedAt } : {}),
              complete: latest.complete,
            },
          }
        : {}),
    };
  }

  async *findings(name: string): AsyncIterable<ImageFinding> {
    const latest = (await this.deps.store.recentRuns(name, 30)).find((run) => run.complete);
    for await (const finding of this.current(name, latest)) {
      const { verifiedAt: _verified, runId: _run, ...reported } = finding;
      yield reported;
    }
  }

  /**
   * The stored findings, brought up to date with the conversion rows written
   * after the audit started: an image converted, failed or started since is reported as it is now, and an image
   * pushed since appears (issue #18 § 5, "a report generated right after a conversion succeeded shows it").
   */
  private async *current(
    name: string,
    latest: AuditRun | undefined,
    seen: { conversionRecords: number } = { conversionRecords: 0 },
  ): AsyncIterable<StoredFinding> {
    const since = latest ? Date.parse(latest.startedAt) : 0;
    const newer = new Map<string, ConversionOutcome>();
    if (this.deps.conversionsSince)
      for await (const row of this.deps.conversionsSince(name, new Date(since)))
        newer.set(`${row.repository}@${row.digest}`, row);
    for await (const finding of this.deps.store.allFindings(name)) {
      const key = `${finding.repository}@${finding.digest}`;
      const row = newer.get(key);
      newer.delete(key);
      if (row === undefined || Date.parse(row.updatedAt) <= Date.parse(finding.checkedAt)) yield finding;
      else {
        seen.conversionRecords++;
        if (row.status !== 'Deleted') yield updated(finding, row);
      }
    }
    for (const row of newer.values()) {
      if (row.status === 'Deleted' || row.skipReason === 'referrer') continue;
      seen.conversionRecords++;
      yield updated(
        {
          registry: name,
          repository: row.repository,
          digest: row.digest,
          tags: [...row.tags],
          status: 'in-progress',
          reason: '',
          checkedAt: row.updatedAt,
          runId: 'conversions',
          ...(row.platforms ? { platforms: row.platforms } : {}),
          ...(row.sizeBytes === undefined ? {} : { sizeBytes: row.sizeBytes }),
        },
        row,
      );
    }
  }

  /** Open drift episodes, and those closed within the last 30 days: open first, then the most recent. */
  private async drift(name: string): Promise<SwitchDriftReport[]> {
    if (this.deps.drift === undefined) return [];
    const since = Date.now() - 30 * 86_400_000;
    return [...(await this.deps.drift.driftRecords(name)).values()]
      .map(({ value }) => value)
      .filter((record) => record.state === 'open' || Date.parse(record.closedAt ?? record.foundAt) >= since)
      .sort(
        (a, b) =>
          Number(b.state === 'open') - Number(a.state === 'open') ||
          b.foundAt.localeCompare(a.foundAt) ||
          a.repository.localeCompare(b.repository),
      )
      .map((record) => ({
        repository: record.repository,
        policyScope: record.scope,
        expected: record.expected,
        actual: record.actual,
        state: record.state,
        foundAt: record.foundAt,
        foundBy: record.foundBy,
        ...(record.closedAt ? { closedAt: record.closedAt } : {}),
        message: record.message,
      }));
  }

  private async emptyCoverage(registry: string, repository: string): Promise<RepositoryCoverage> {
    const applied = await this.deps.policies.policyFor(registry, repository);
    return {
      repository,
      policyScope: applied.scope,
      mode: applied.policy.mode,
      eligible: 0,
      streamable: 0,
      missing: 0,
      failed: 0,
      inProgress: 0,
      ineligible: 0,
      coveragePercent: 100,
    };
  }

  private registry(name: string): RegistrySettings {
    const registry = this.deps.registries.find((candidate) => candidate.name === name);
    if (registry === undefined) throw new Error(`registry ${name} is not configured`);
    return registry;
  }
}

/** A finding as a newer conversion row has it. */
function updated(finding: StoredFinding, row: ConversionOutcome): StoredFinding {
  const status: FindingStatus =
    row.status === 'Succeeded'
      ? 'converted'
      : row.status === 'Failed' || row.status === 'TimedOut'
        ? 'failed'
        : row.status === 'Skipped'
          ? row.skipReason === undefined
            ? finding.status
            : 'ineligible'
          : row.status === 'Canceled'
            ? 'missing'
            : 'in-progress';
  const { errorCode: _code, remediation: _remediation, ...rest } = finding;
  return {
    ...rest,
    status,
    reason: `${row.reason} (conversion record, ${row.updatedAt})`,
    checkedAt: row.updatedAt,
    ...(status === 'failed' && row.lastErrorCode ? { errorCode: row.lastErrorCode } : {}),
    ...(status === 'failed' && row.remediation ? { remediation: row.remediation } : {}),
  };
}

/** The order the report lists images that do not stream in: what needs someone first. */
const notStreamingOrder: Record<Exclude<FindingStatus, 'converted'>, number> = {
  failed: 0,
  missing: 1,
  'stale-operation': 2,
  'in-progress': 3,
  ineligible: 4,
};

/**
 * The first `limit` images that do not stream, in {@link notStreamingOrder}: up to `limit` kept per status while
 * the findings stream by, so memory stays bounded whatever the registry's size.
 */
class NotStreamingImages {
  private readonly byStatus = new Map<FindingStatus, NotStreamingImage[]>();

  constructor(private readonly limit: number) {}

  add(finding: StoredFinding): void {
    if (finding.status === 'converted') return;
    const bucket = this.byStatus.get(finding.status) ?? [];
    if (bucket.length >= this.limit) return;
    bucket.push({
      repository: finding.repository,
      digest: finding.digest,
      tags: [...finding.tags],
      status: finding.status,
      reason: finding.reason,
      ...(finding.errorCode ? { errorCode: finding.errorCode } : {}),
    });
    this.byStatus.set(finding.status, bucket);
  }

  list(): NotStreamingImage[] {
    return [...this.byStatus.entries()]
      .sort(
        ([a], [b]) =>
          notStreamingOrder[a as keyof typeof notStreamingOrder] -
          notStreamingOrder[b as keyof typeof notStreamingOrder],
      )
      .flatMap(([, images]) => images)
      .slice(0, this.limit);
  }
}
