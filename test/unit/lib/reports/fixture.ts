import type {
  ComplianceReport,
  ImageFinding,
  RegistryReport,
  ReportDataSource,
  RepositoryCoverage,
} from '../../../../lib/reports/model.js';
import { coveragePercent } from '../../../../lib/reports/summary.js';
import { classifyCluster } from '../../../../lib/consumers/classify.js';
import { consumersNotConfigured, consumersSection } from '../../../../lib/audit/consumers-section.js';
import { acrPull, capablePool, clusterView, registryView } from '../../../support/fakes/consumers.js';

/**
 * A realistic report of three registries, as the audits would produce it: a production registry in good shape,
 * a staging registry with failures and connected registries in trouble, and a registry that is not ready
 * (Basic SKU). Names carry unicode and markup (`<script>`, formula starters) to prove every renderer escapes.
 */

export const hostileRepository = 'team-<script>alert(1)</script>/ünïcødé-app';
export const formulaRepository = '=cmd|calc/evil';
export const generatedAt = '2026-11-23T06:00:00.000Z';

function repository(
  name: string,
  policyScope: string,
  mode: string,
  counts: { streamable: number; missing: number; failed: number; inProgress: number; ineligible: number },
): RepositoryCoverage {
  const eligible = counts.streamable + counts.missing + counts.failed + counts.inProgress;
  return {
    repository: name,
    policyScope,
    mode,
    eligible,
    ...counts,
    coveragePercent: coveragePercent(counts.streamable, eligible),
  };
}

function trend(
  days: number,
  start: number,
  end: number,
  eligibleStart: number,
  wobble: number,
): RegistryReport['trend'] {
  return Array.from({ length: days }, (_, index) => {
    const time = new Date(Date.parse(generatedAt) - (days - 1 - index) * 86_400_000).toISOString();
    const eligible = eligibleStart + index * 3;
    const share = Math.min(
      1,
      Math.max(0, (start + ((end - start) * index) / Math.max(1, days - 1) + Math.sin(index * 1.7) * wobble) / 100),
    );
    const streamable = Math.round(eligible * share);
    return { time, eligible, streamable, coveragePercent: coveragePercent(streamable, eligible) };
  });
}

function totals(repositories: readonly RepositoryCoverage[], withoutPolicy: number): RegistryReport['totals'] {
  const sum = (pick: (repo: RepositoryCoverage) => number): number =>
    repositories.reduce((total, repo) => total + pick(repo), 0);
  const eligible = sum((repo) => repo.eligible);
  const streamable = sum((repo) => repo.streamable);
  return {
    repositories: repositories.length,
    repositoriesWithPolicy: repositories.length - withoutPolicy,
    repositoriesWithoutPolicy: withoutPolicy,
    eligible,
    streamable,
    missing: sum((repo) => repo.missing),
    failed: sum((repo) => repo.failed),
    inProgress: sum((repo) => repo.inProgress),
    ineligible: sum((repo) => repo.ineligible),
    coveragePercent: coveragePercent(streamable, eligible),
  };
}

const prodRepositories = [
  repository('payments/api', 'payments/**', 'onPush', {
    streamable: 42,
    missing: 0,
    failed: 0,
    inProgress: 1,
    ineligible: 2,
  }),
  repository('payments/worker', 'payments/**', 'onPush', {
    streamable: 37,
    missing: 2,
    failed: 0,
    inProgress: 0,
    ineligible: 0,
  }),
  repository('storefront/web', 'storefront/web', 'native', {
    streamable: 58,
    missing: 0,
    failed: 0,
    inProgress: 0,
    ineligible: 4,
  }),
  repository('storefront/search', '_default', 'onPush', {
    streamable: 19,
    missing: 3,
    failed: 1,
    inProgress: 0,
    ineligible: 1,
  }),
  repository('platform/ingress-nginx', 'platform/**', 'onPush', {
    streamable: 12,
    missing: 0,
    failed: 0,
    inProgress: 0,
    ineligible: 12,
  }),
  repository('data/spark-jobs', 'data/**', 'backfill', {
    streamable: 21,
    missing: 9,
    failed: 0,
    inProgress: 4,
    ineligible: 0,
  }),
  repository('tools/helm-charts', '_default', 'onPush', {
    streamable: 0,
    missing: 0,
    failed: 0,
    inProgress: 0,
    ineligible: 16,
  }),
];

const stagingRepositories = [
  repository(hostileRepository, 'team-*/**', 'onPush', {
    streamable: 5,
    missing: 2,
    failed: 3,
    inProgress: 0,
    ineligible: 1,
  }),
  repository(formulaRepository, '_default', 'onPush', {
    streamable: 1,
    missing: 1,
    failed: 0,
    inProgress: 0,
    ineligible: 0,
  }),
  repository('ml/обучение-pipeline', 'ml/**', 'onPush', {
    streamable: 14,
    missing: 4,
    failed: 6,
    inProgress: 2,
    ineligible: 3,
  }),
  repository('legacy/windows-service', '_default', 'onPush', {
    streamable: 0,
    missing: 0,
    failed: 0,
    inProgress: 0,
    ineligible: 9,
  }),
  repository('edge/telemetry-agent', 'edge/**', 'native', {
    streamable: 17,
    missing: 0,
    failed: 1,
    inProgress: 0,
    ineligible: 0,
  }),
  repository('edge/a-repository-with-a-remarkably-long-name-for-charts', 'edge/**', 'native', {
    streamable: 3,
    missing: 5,
    failed: 0,
    inProgress: 0,
    ineligible: 0,
  }),
];

const sandboxRepositories = [
  repository('team-a/app', '_default', 'onPush', {
    streamable: 0,
    missing: 3,
    failed: 0,
    inProgress: 0,
    ineligible: 0,
  }),
  repository('team-a/arm-only', '_default', 'onPush', {
    streamable: 0,
    missing: 0,
    failed: 0,
    inProgress: 0,
    ineligible: 1,
  }),
];

const checkedAt = '2026-11-23T05:58:12.000Z';
const audit = (runId: string, complete = true) => ({
  runId,
  startedAt: '2026-11-23T05:55:00.000Z',
  ...(complete ? { completedAt: '2026-11-23T05:58:30.000Z' } : {}),
  complete,
});

/**
 * The production registry's consumers (issue #20): a cluster that streams, one whose ARM64 pool cannot (beside a
 * capable pool), one with a hostile name and streaming disabled, and one without pull.
 */
export const hostileCluster = 'aks-<img>';
const consumerClusters = [
  clusterView('aks-prod', [{ ...capablePool, count: 6 }]),
  clusterView('aks-mixed', [
    { ...capablePool, count: 4 },
    { ...capablePool, name: 'armpool', vmSize: 'Standard_D4ps_v5', count: 2 },
  ]),
  clusterView(hostileCluster, [{ ...capablePool, name: 'legacy', artifactStreamingEnabled: false, count: 1 }]),
  clusterView('aks-other', [capablePool]),
];
export const consumers = consumersSection({
  registry: 'contosoprod',
  scope: ['/subscriptions/s1'],
  clusters: consumerClusters.map((cluster) =>
    classifyCluster({
      cluster,
      registry: registryView,
      registryName: 'contoso',
      grants: cluster.name === 'aks-other' ? [] : [acrPull(cluster.kubeletIdentity!.objectId!)],
      now: new Date(generatedAt),
    }),
  ),
  unreadable: ['could not read clusters in /subscriptions/s2: grant this app Reader on /subscriptions/s2'],
  complete: false,
});

export const registries: RegistryReport[] = [
  {
    registry: 'contosoprod',
    loginServer: 'contosoprod.azurecr.io',
    readiness: { premium: true, customerManagedKey: false, eventSubscription: true, ready: true, notes: [] },
    totals: totals(prodRepositories, 2),
    repositories: prodRepositories,
    topFailures: [
      {
        errorCode: 'UNSUPPORTED_MEDIATYPE',
        count: 1,
        remediation: 'The image uses a media type ACR cannot convert (zstd layers). Rebuild it with gzip layers.',
        examples: ['storefront/search@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
      },
    ],
    drift: [
      {
        repository: 'edge/gateway',
        policyScope: 'edge/**',
        expected: true,
        actual: false,
        state: 'open',
        foundAt: '2026-11-22T06:00:00.000Z',
        foundBy: 'audit',
        message: 'ACR answered 403 DENIED: requested access to the resource is denied',
      },
      {
        repository: 'edge/telemetry-agent',
        policyScope: 'edge/**',
        expected: true,
        actual: true,
        state: 'closed',
        foundAt: '2026-11-21T06:00:00.000Z',
        foundBy: 'audit',
        closedAt: '2026-11-21T06:00:00.000Z',
        message: "ACR's switch was off where policy edge/** wants it on; set back to on",
      },
    ],
    connectedRegistries: [
      {
        name: 'factory-eu',
        state: 'healthy',
        connectionState: 'Online',
        mode: 'ReadOnly',
        lastActivityTime: '2026-11-23T05:51:00.000Z',
        lastSyncTime: '2026-11-23T05:50:00.000Z',
        syncSchedule: '*/15 * * * *',
      },
      {
        name: 'factory-us',
        state: 'syncing',
        connectionState: 'Syncing',
        mode: 'ReadOnly',
        lastActivityTime: '2026-11-23T05:59:00.000Z',
      },
    ],
    consumers,
    trend: trend(30, 88, 96.5, 160, 1.2),
    audit: audit('audit-20261123-0555-prod'),
  },
  {
    registry: 'contosostaging',
    loginServer: 'contosostaging.azurecr.io',
    readiness: {
      premium: true,
      customerManagedKey: false,
      ready: true,
      notes: [
        'ARM could not tell whether an Event Grid subscription delivers ImagePushed; new pushes may wait for the audit.',
      ],
    },
    totals: totals(stagingRepositories, 3),
    repositories: stagingRepositories,
    topFailures: [
      {
        errorCode: 'UNKNOWN_ERROR',
        count: 6,
        remediation:
          'ACR reported an unknown error after 3 attempts. Open a support request quoting the operation id; the CSV lists them.',
        examples: [
          'ml/обучение-pipeline@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
          `${hostileRepository}@sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9`,
        ],
      },
      {
        errorCode: 'UNSUPPORTED_PLATFORM',
        count: 3,
        remediation:
          'Only linux/amd64 images stream. Publish an amd64 variant or exclude the tag in the policy: see https://aka.ms/acr/artifact-streaming.',
        examples: [`${hostileRepository}@sha256:baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096`],
      },
      {
        errorCode: 'MANIFEST_UNKNOWN',
        count: 1,
        remediation: 'The image was deleted while converting; nothing to do.',
        examples: ['edge/telemetry-agent@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      },
    ],
    drift: [],
    connectedRegistries: [
      {
        name: 'store-0042',
        state: 'stale',
        connectionState: 'Online',
        mode: 'ReadOnly',
        lastActivityTime: '2026-11-19T11:04:00.000Z',
        reason: 'No activity for 3 days 19 hours.',
        remediation: 'Check the connected registry pod: kubectl logs -n connected-registry deploy/connected-registry.',
      },
      {
        name: 'store-0043',
        state: 'offline',
        connectionState: 'Offline',
        mode: 'ReadWrite',
        lastActivityTime: '2026-11-22T23:10:00.000Z',
        reason: 'ARM reports the connected registry offline.',
        remediation: 'Restore network access from the site to contosostaging.azurecr.io (port 443).',
      },
      {
        name: 'store-<b>0044</b>',
        state: 'inactive',
        reason: 'Never activated.',
        remediation: 'Deploy it with its connection string: az acr connected-registry get-settings.',
      },
      {
        name: 'lab-ünïcødé',
        state: 'healthy',
        connectionState: 'Online',
        mode: 'ReadOnly',
        lastActivityTime: '2026-11-23T05:40:00.000Z',
      },
      {
        name: 'store-0045',
        state: 'unhealthy',
        connectionState: 'Online',
        mode: 'ReadOnly',
        lastActivityTime: '2026-11-23T05:20:00.000Z',
        reason: 'Status detail CERTIFICATE_EXPIRED.',
        remediation: 'Rotate the client token password and redeploy.',
      },
    ],
    consumers: consumersNotConfigured(),
    imagesNotStreaming: [
      {
        repository: hostileRepository,
        digest: 'sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9',
        tags: ['v1', 'latest'],
        status: 'failed',
        reason: 'Conversion failed: UNKNOWN_ERROR after 3 attempts',
        errorCode: 'UNKNOWN_ERROR',
      },
      {
        repository: 'ml/обучение-pipeline',
        digest: 'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
        tags: ['2026.11'],
        status: 'missing',
        reason: 'no streaming artifact',
      },
    ],
    trend: trend(30, 71, 68, 80, 3.5),
    audit: audit('audit-20261123-0555-staging', false),
  },
  {
    registry: 'sandboxbasic',
    loginServer: 'sandboxbasic.azurecr.io',
    readiness: {
      premium: false,
      customerManagedKey: false,
      eventSubscription: false,
      ready: false,
      notes: [
        'The registry is Basic: artifact streaming needs Premium. az acr update --name sandboxbasic --sku Premium',
      ],
    },
    totals: totals(sandboxRepositories, 2),
    repositories: sandboxRepositories,
    topFailures: [],
    connectedRegistries: [],
    drift: [],
    trend: trend(4, 0, 0, 3, 0),
    audit: audit('audit-20261123-0555-sandbox'),
  },
];

export const report: ComplianceReport = {
  schemaVersion: '1',
  id: '20261123T060000000Z-all',
  generatedAt,
  generator: { name: 'acr-streaming-autopilot', version: '0.1.0' },
  registries,
  alertChannels: [],
};

/** Findings with hostile and awkward values for the CSV. */
export function findingsOf(registry: string): ImageFinding[] {
  const base = { registry, checkedAt };
  if (registry === 'contosostaging') {
    return [
      {
        ...base,
        repository: hostileRepository,
        digest: 'sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9',
        tags: ['v1', 'latest'],
        status: 'failed',
        reason: 'Conversion failed: "UNKNOWN_ERROR", after 3 attempts,\nretries stopped',
        errorCode: 'UNKNOWN_ERROR',
        remediation: 'Open a support request, quoting operation 171374b2',
        platforms: 'linux/amd64',
        sizeBytes: 73_400_320,
        pushedAt: '2026-11-20T10:00:00.000Z',
      },
      {
        ...base,
        repository: formulaRepository,
        digest: 'sha256:aaaa',
        tags: [],
        status: 'missing',
        reason: '+SUM(A1:A9)',
        remediation: '@HYPERLINK("http://evil")',
      },
      {
        ...base,
        repository: 'ml/обучение-pipeline',
        digest: 'sha256:bbbb',
        tags: ['2026.11'],
        status: 'in-progress',
        reason: '-1 is not an answer',
        platforms: 'linux/amd64,linux/arm64',
        sizeBytes: 0,
      },
      {
        ...base,
        repository: 'legacy/windows-service',
        digest: 'sha256:cccc',
        tags: ['ltsc2022'],
        status: 'ineligible',
        reason: 'windows/amd64 is not convertible',
        platforms: 'windows/amd64',
      },
    ];
  }
  const repos = registries.find((candidate) => candidate.registry === registry)?.repositories ?? [];
  return repos.map((repo, index) => ({
    ...base,
    repository: repo.repository,
    digest: `sha256:${String(index).padStart(64, '0')}`,
    tags: [`v${index}`],
    status: repo.missing > 0 ? 'missing' : 'converted',
    reason: repo.missing > 0 ? 'no streaming referrer' : 'streamable',
  }));
}

/** A ReportDataSource over the fixture; `calls` records which registries were asked for. */
export function fakeSource(
  overrides: Partial<Record<string, RegistryReport>> = {},
): ReportDataSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    registryReport(registry: string): Promise<RegistryReport> {
      calls.push(registry);
      const found = overrides[registry] ?? registries.find((candidate) => candidate.registry === registry);
      if (found === undefined) return Promise.reject(new Error(`no data for ${registry}`));
      return Promise.resolve(found);
    },
    async *findings(registry: string): AsyncIterable<ImageFinding> {
      for (const finding of findingsOf(registry)) {
        await Promise.resolve();
        yield finding;
      }
    },
  };
}
