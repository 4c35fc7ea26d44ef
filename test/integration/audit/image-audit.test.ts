import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EmulatorControlClient } from '../../../dev/emulator/control-client.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { ImageAudit, type AuditMessage } from '../../../lib/audit/images.js';
import { AuditReportSource } from '../../../lib/audit/report-source.js';
import type { AuditRun } from '../../../lib/audit/model.js';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { silentLogger } from '../../../lib/core/logging.js';
import { configPolicySource } from '../../../lib/policy/config-source.js';
import { policySchema } from '../../../lib/policy/model.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import type { FindingStatus } from '../../../lib/reports/model.js';
import type { ConversionStore } from '../../../lib/conversion/ports.js';
import { TableConversionStore } from '../../../lib/storage/conversion-store.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { uniquePrefix } from '../../support/names.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

/**
 * The missing-streaming-artifact audit against the emulator and Azurite, with the run's clock injected: the
 * findings match what was seeded, a second run of the unchanged registry is nearly free, and a referrer deleted
 * between runs is still caught within the re-verification period.
 */
describe('image audit', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let control: EmulatorControlClient;
  let clockMs = Date.now();
  const expected = new Map<string, FindingStatus>();
  let deletedLater = '';
  let helmChart = '';
  let streamingArtifact = '';
  let audit: ImageAudit;
  let store: TableAuditStore;
  let outbox: TableOutbox;
  let settings: RegistrySettings;
  const queue: AuditMessage[] = [];
  const period = 3_600;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
    control = new EmulatorControlClient(t.emulator.controlUrl);
    const seed = async (
      repository: string,
      tag: string | undefined,
      platform: 'linux/amd64' | 'linux/arm64',
      status: FindingStatus,
    ): Promise<string> => {
      const { digest } = await control.seedImage('sandbox', {
        kind: 'image',
        repository,
        ...(tag ? { tag } : {}),
        platform,
        label: `${repository}:${tag ?? ''}`,
      });
      expected.set(digest, status);
      return digest;
    };
    const converted = await seed('team-a/app', 'v1', 'linux/amd64', 'converted');
    const referrer = await control.seedImage('sandbox', {
      kind: 'streaming-referrer',
      repository: 'team-a/app',
      subject: converted,
    });
    expected.set(referrer.digest, 'ineligible');
    deletedLater = await seed('team-a/app', 'v2', 'linux/amd64', 'converted');
    expected.set(
      (
        await control.seedImage('sandbox', {
          kind: 'streaming-referrer',
          repository: 'team-a/app',
          subject: deletedLater,
        })
      ).digest,
      'ineligible',
    );
    await seed('team-a/app', 'v3', 'linux/amd64', 'missing');
    const removed = await seed('team-a/removed', 'v1', 'linux/amd64', 'missing');
    const gone = await control.seedImage('sandbox', {
      kind: 'streaming-referrer',
      repository: 'team-a/removed',
      subject: removed,
    });
    await control.deleteManifest('sandbox', 'team-a/removed', gone.digest);
    await seed('team-b/arm', 'v1', 'linux/arm64', 'ineligible');
    const index = await control.seedImage('sandbox', {
      kind: 'index',
      repository: 'team-b/multi',
      tag: 'v1',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    expected.set(index.digest, 'missing');
    const failed = await seed('team-c/broken', 'v1', 'linux/amd64', 'failed');
    const chart = await control.seedImage('sandbox', { kind: 'helm', repository: 'charts/mychart', tag: '0.1.0' });
    expected.set(chart.digest, 'ineligible');
    helmChart = chart.digest;
    streamingArtifact = referrer.digest;

    const connection = inject('storageConnectionString');
    const prefix = uniquePrefix('au');
    const table = (name: string): TableClient =>
      TableClient.fromConnectionString(connection, `${prefix}${name}`, { allowInsecureConnection: true });
    await Promise.all(['Audits', 'Conversions', 'Outbox'].map((name) => table(name).createTable()));
    const rows = new TableConversionStore(table('Conversions'));
    // Counts the conversion rows the audit loads in bulk (scenario 9: not a whole repository's).
    const conversions: ConversionStore = {
      read: (key) => rows.read(key),
      create: (record) => rows.create(record),
      replace: (record, etag) => rows.replace(record, etag),
      listInFlight: () => rows.listInFlight(),
      list: async (registry, filter, page) => {
        const listed = await rows.list(registry, filter, page);
        rowsListed += listed.items.length;
        return listed;
      },
    };
    const now = new Date(clockMs).toISOString();
    await conversions.create({
      registry: 'sandbox',
      repository: 'team-c/broken',
      digest: failed,
      status: 'Failed',
      tags: ['v1'],
      reason: 'eligible',
      source: 'event',
      attempts: 3,
      maxAttempts: 3,
      polls: 4,
      lastErrorCode: 'UNKNOWN_ERROR',
      remediation: 'quote op-9',
      createdAt: now,
      updatedAt: now,
    });
    store = new TableAuditStore(table('Audits'));
    outbox = new TableOutbox(table('Outbox'));
    settings = {
      name: 'sandbox',
      loginServer: registry.loginServer,
      resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox',
      auth: { type: 'password', username: registry.username!, passwordSetting: 'X' },
    };
    const client = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
    });
    audit = new ImageAudit({
      registries: [settings],
      registry: () => client,
      conversions,
      service: { request: () => Promise.reject(new Error('backfill is off in this test')) },
      policies: configPolicySource(policySchema.parse({ mode: 'onPush' })),
      readiness: () => Promise.resolve({ ready: true, sku: 'Premium', customerManagedKey: false }),
      store,
      queue: { send: (message) => Promise.resolve(void queue.push(message)) },
      outbox,
      settings: { reverifySeconds: period, requestBudget: 1_000, backfillBudget: 0, quietSeconds: 600 },
      clock: { now: () => new Date(clockMs) },
    });
  });
  afterAll(() => t.emulator.close());

  let rowsListed = 0;

  /** Runs an audit to completion, processing its continuation messages as the queue trigger would. */
  async function runAudit(): Promise<{ counters: Record<string, number>; referrerRequests: number; run: AuditRun }> {
    await control.clearRequests();
    await audit.start('sandbox', silentLogger);
    let last;
    while (queue.length > 0) last = await audit.continue(queue.shift(), silentLogger);
    const referrerRequests = (await control.requests({ method: 'GET', path: '/referrers/' })).length;
    if (last === undefined) throw new Error('the audit never ran');
    return { counters: last.counters as unknown as Record<string, number>, referrerRequests, run: last };
  }

  async function findings(): Promise<Map<string, FindingStatus>> {
    const statuses = new Map<string, FindingStatus>();
    for await (const finding of store.allFindings('sandbox')) statuses.set(finding.digest, finding.status);
    return statuses;
  }

  it('finds exactly what was seeded: converted, missing (incl. a deleted referrer and an index), failed, ineligible', async () => {
    const first = await runAudit();

    const found = await findings();
    for (const [digest, status] of expected) expect({ digest, status: found.get(digest) }).toEqual({ digest, status });
    // Besides the seeded manifests, only the index's two untagged children exist, and they are not converted alone.
    const extra = [...found].filter(([digest]) => !expected.has(digest));
    expect(extra.map(([, status]) => status)).toEqual(['ineligible', 'ineligible']);
    expect(first.counters).toMatchObject({ streamable: 2, missing: 3, failed: 1, eligible: 6 });
    // One per eligible image, and one more for the missing index: its linux/amd64 child may carry the artifact (A8).
    expect(first.referrerRequests).toBe(7);
    const events: unknown[] = [];
    for await (const row of outbox.pending()) events.push(row.payload);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'audit.missingStreamingArtifacts',
      registry: 'sandbox',
      facts: { Missing: '3' },
    });
  });

  // Issue #18 § 5: each ineligible manifest is called what it is; "pushed without a tag" only for an untagged image.
  it('labels streaming artifacts, index children and Helm charts for what they are', async () => {
    await runAudit();

    const reasons = new Map<string, { repository: string; reason: string }>();
    for await (const finding of store.allFindings('sandbox'))
      reasons.set(finding.digest, { repository: finding.repository, reason: finding.reason });
    const children = [...reasons].filter(
      ([digest, { repository }]) => repository === 'team-b/multi' && !expected.has(digest),
    );

    expect(reasons.get(streamingArtifact)?.reason).toMatch(/^a referrer/);
    expect(reasons.get(helmChart)?.reason).toMatch(/^not an image: a Helm chart/);
    expect(children).toHaveLength(2);
    for (const [, { reason }] of children) expect(reason).toMatch(/^a platform image of a multi-arch index/);
    for (const { reason } of reasons.values()) expect(reason).not.toMatch(/unknown/);
  });

  it("costs at most 10 % of the first run's referrer requests when nothing changed", async () => {
    const second = await runAudit();

    expect(second.referrerRequests).toBeLessThanOrEqual(Math.floor(6 * 0.1));
    expect(second.counters).toMatchObject({ streamable: 2, missing: 3, failed: 1 });
  });

  it('still catches a referrer deleted between runs, within the re-verification period', async () => {
    const referrer = await listStreamingReferrer(deletedLater);
    await control.deleteManifest('sandbox', 'team-a/app', referrer);

    clockMs += period * 1000 + 1_000;
    const later = await runAudit();

    expect((await findings()).get(deletedLater)).toBe('missing');
    expect(later.counters).toMatchObject({ streamable: 1, missing: 4 });
  });

  async function listStreamingReferrer(subject: string): Promise<string> {
    const client = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
    });
    const [descriptor] = await client.listReferrers(
      'team-a/app',
      subject,
      'application/vnd.azure.artifact.streaming.v1',
    );
    return descriptor!.digest;
  }

  it("scenario 9: an audit loads only the conversion rows changed since the repository's last audit", async () => {
    clockMs += 1_000;
    await runAudit();
    clockMs += 1_000;
    rowsListed = 0;

    await runAudit();

    // The one conversion row (team-c/broken, Failed) is older than the last audit: nothing to load in bulk.
    expect(rowsListed).toBe(0);
  });

  it('scenario 8: the report says when readiness could not be read from ARM, and why', async () => {
    const source = new AuditReportSource({
      registries: [settings],
      store,
      policies: configPolicySource(policySchema.parse({ mode: 'onPush' })),
      readiness: () => Promise.resolve({ ready: true, unknown: 'ARM answered 403: AuthorizationFailed' }),
      connectedRegistries: () => Promise.resolve([]),
      log: silentLogger,
    });

    const report = await source.registryReport('sandbox');

    expect(report.readiness.notes[0]).toMatch(
      /^Readiness unknown: could not read the registry from ARM \(ARM answered 403/,
    );
  });

  it('scenario 4: a repository ACR refuses for good is skipped and named; the audit of the others completes', async () => {
    const { digest } = await control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-z/locked',
      tag: 'v1',
      platform: 'linux/amd64',
    });
    const fault = await control.addFault({
      listener: 'sandbox',
      method: 'GET',
      path: '^/acr/v1/team-z/locked/_manifests',
      action: { kind: 'status', status: 403, code: 'DENIED' },
    });
    try {
      const { run } = await runAudit();

      expect(run).toMatchObject({ complete: true, unreadable: ['team-z/locked'] });
      expect((await findings()).has(digest)).toBe(false);
      expect((await findings()).size).toBeGreaterThan(0);
    } finally {
      await control.removeFault(fault.id);
    }
  });
});
