import { describe, expect, it } from 'vitest';
import { AuditReportSource, type ConversionOutcome } from '../../../../lib/audit/report-source.js';
import type { AuditRun, StoredFinding } from '../../../../lib/audit/model.js';
import type { AuditStore } from '../../../../lib/audit/ports.js';
import { silentLogger } from '../../../../lib/core/logging.js';
import { policySchema } from '../../../../lib/policy/model.js';

/**
 * Issue #18 § 5: a report made right after a conversion shows it. The latest audit's findings are brought up to date
 * with the conversion rows written since the audit started, and the report says when its figures were collected.
 */
const registry = 'contoso';
const auditStart = '2026-11-29T06:00:00.000Z';
const digest = (n: number): string => `sha256:${String(n).padStart(64, '0')}`;

const run: AuditRun = {
  registry,
  runId: 'run-1',
  startedAt: auditStart,
  completedAt: '2026-11-29T06:05:00.000Z',
  complete: true,
  counters: {
    repositories: 1,
    repositoriesWithPolicy: 1,
    examined: 2,
    referrerChecks: 2,
    eligible: 2,
    streamable: 0,
    missing: 2,
    failed: 0,
    inProgress: 0,
    ineligible: 0,
  } as AuditRun['counters'],
};

const finding = (n: number): StoredFinding => ({
  registry,
  repository: 'team-a/app',
  digest: digest(n),
  tags: [`v${n}`],
  status: 'missing',
  reason: 'no streaming referrer',
  checkedAt: '2026-11-29T06:01:00.000Z',
  runId: 'run-1',
});

async function* toAsync<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield await Promise.resolve(item);
}

function source(conversions: readonly ConversionOutcome[] | undefined): AuditReportSource {
  const store = {
    recentRuns: () => Promise.resolve([run]),
    allFindings: () => toAsync([finding(1), finding(2)]),
  } as unknown as AuditStore;
  return new AuditReportSource({
    registries: [{ name: registry, loginServer: 'contoso.azurecr.io', resourceId: '/s/x', auth: { type: 'identity' } }],
    store,
    policies: {
      policyFor: () => Promise.resolve({ scope: '_default', policy: policySchema.parse({ mode: 'onPush' }) }),
    },
    readiness: () => Promise.resolve({ ready: true, sku: 'Premium', customerManagedKey: false }),
    connectedRegistries: () => Promise.resolve([]),
    log: silentLogger,
    ...(conversions === undefined
      ? {}
      : {
          conversionsSince: (_registry: string, since: Date) =>
            toAsync(conversions.filter((row) => Date.parse(row.updatedAt) >= since.getTime())),
        }),
  });
}

const succeeded: ConversionOutcome = {
  repository: 'team-a/app',
  digest: digest(1),
  status: 'Succeeded',
  tags: ['v1'],
  reason: 'converted',
  updatedAt: '2026-11-29T07:00:00.000Z',
};
const pushedSince: ConversionOutcome = {
  repository: 'team-a/app',
  digest: digest(3),
  status: 'Running',
  tags: ['v3'],
  reason: 'eligible',
  updatedAt: '2026-11-29T07:01:00.000Z',
};

describe('AuditReportSource: current, not as old as the last audit', () => {
  it('counts an image converted since the audit as streamable, and shows an image pushed since', async () => {
    const report = await source([succeeded, pushedSince]).registryReport(registry);

    expect(report.totals).toMatchObject({ eligible: 3, streamable: 1, missing: 1, inProgress: 1 });
    expect(report.readiness.notes).toContainEqual(
      expect.stringContaining('the audit of 2026-11-29T06:05:00.000Z, brought up to date with 2 conversion record(s)'),
    );
  });

  it('lists the images that do not stream, failed first, for the HTML to link to their diagnosis', async () => {
    const failed: ConversionOutcome = { ...succeeded, digest: digest(2), status: 'Failed', lastErrorCode: 'E1' };
    const report = await source([succeeded, failed]).registryReport(registry);

    expect(report.imagesNotStreaming?.map((image) => [image.digest, image.status, image.errorCode])).toEqual([
      [digest(2), 'failed', 'E1'],
    ]);
  });

  it("without conversion rows, the figures are the audit's", async () => {
    const report = await source(undefined).registryReport(registry);

    expect(report.totals).toMatchObject({ eligible: 2, streamable: 0, missing: 2 });
  });

  it('a conversion row older than the finding does not override it', async () => {
    const report = await source([{ ...succeeded, updatedAt: '2026-11-29T06:00:30.000Z' }]).registryReport(registry);

    expect(report.totals).toMatchObject({ streamable: 0, missing: 2 });
  });
});
