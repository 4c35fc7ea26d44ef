import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EmulatorControlClient } from '../../../dev/emulator/control-client.js';
import { ImageAudit, type AuditMessage, type ImageAuditSettings } from '../../../lib/audit/images.js';
import { AuditReportSource } from '../../../lib/audit/report-source.js';
import type { AuditRun } from '../../../lib/audit/model.js';
import { silentLogger } from '../../../lib/core/logging.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { policySchema, type PolicySource } from '../../../lib/policy/model.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import type { FindingStatus } from '../../../lib/reports/model.js';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import { TableConversionStore } from '../../../lib/storage/conversion-store.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { uniquePrefix } from '../../support/names.js';
import { countingTable, noTableWrites, type TableWrites } from '../../support/table-writes.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

/**
 * Issue #19 § 4: an audit writes only the findings that changed, and finds deleted images by listing, not by age —
 * the findings of digests a repository's full listing no longer names are deleted (never after a listing cut short),
 * as are those of a repository gone from the catalog or whose policy is now off — and the report, which no longer
 * tells current findings by a per-run rewrite, shows exactly the images that are there.
 */
describe('incremental image audit', () => {
  let t: TestEmulator;
  let control: EmulatorControlClient;
  let settings: RegistrySettings;
  let client: RegistryClient;
  let table: TableClient;
  let conversions: TableConversionStore;
  let outbox: TableOutbox;
  let report: AuditReportSource;
  let clockMs = Date.now();
  const writes: TableWrites = noTableWrites();
  const queue: AuditMessage[] = [];
  const offRepositories = new Set<string>();
  const period = 3_600;
  const onPush = policySchema.parse({ mode: 'onPush' });
  const policies: PolicySource = {
    policyFor: (_registry, repository) =>
      Promise.resolve({
        scope: '_default',
        policy: offRepositories.has(repository) ? policySchema.parse({ mode: 'off' }) : onPush,
      }),
  };
  /** What the registry holds, as the report should show it: repository@digest → status. */
  const images = new Map<string, FindingStatus>();
  const pages: string[] = [];

  const seed = async (repository: string, tag: string, streamable: boolean): Promise<string> => {
    const { digest } = await control.seedImage('sandbox', {
      kind: 'image',
      repository,
      tag,
      platform: 'linux/amd64',
      label: `${repository}:${tag}`,
    });
    images.set(`${repository}@${digest}`, streamable ? 'converted' : 'missing');
    if (streamable) {
      const referrer = await control.seedImage('sandbox', { kind: 'streaming-referrer', repository, subject: digest });
      images.set(`${repository}@${referrer.digest}`, 'ineligible');
    }
    return digest;
  };

  const audit = (overrides: Partial<ImageAuditSettings> = {}): ImageAudit =>
    new ImageAudit({
      registries: [settings],
      registry: () => client,
      conversions,
      service: { request: () => Promise.reject(new Error('backfill is off in this test')) },
      policies,
      readiness: () => Promise.resolve({ ready: true, sku: 'Premium', customerManagedKey: false }),
      store: new TableAuditStore(countingTable(table, writes)),
      queue: { send: (message) => Promise.resolve(void queue.push(message)) },
      outbox,
      settings: { reverifySeconds: period, requestBudget: 1_000, backfillBudget: 0, quietSeconds: 600, ...overrides },
      clock: { now: () => new Date(clockMs) },
    });

  /** Starts a run and processes `parts` of its messages (all by default); the last run state and the writes. */
  async function runAudit(
    auditor = audit(),
    parts = Number.POSITIVE_INFINITY,
  ): Promise<{ run: AuditRun; writes: TableWrites }> {
    clockMs += 1_000;
    const before = { ...writes };
    await auditor.start('sandbox', silentLogger);
    let last: AuditRun | undefined;
    for (let part = 0; part < parts && queue.length > 0; part++)
      last = await auditor.continue(queue.shift(), silentLogger);
    if (last === undefined) throw new Error('the audit never ran');
    return {
      run: last,
      writes: { upserts: writes.upserts - before.upserts, deletes: writes.deletes - before.deletes },
    };
  }

  async function reported(): Promise<Map<string, FindingStatus>> {
    const found = new Map<string, FindingStatus>();
    for await (const finding of report.findings('sandbox'))
      found.set(`${finding.repository}@${finding.digest}`, finding.status);
    return found;
  }

  async function stored(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const finding of new TableAuditStore(table).allFindings('sandbox'))
      keys.add(`${finding.repository}@${finding.digest}`);
    return keys;
  }

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    const registry = t.emulator.registry('sandbox');
    control = new EmulatorControlClient(t.emulator.controlUrl);
    for (let n = 0; n < 4; n++) await seed('team-a/app', `v${n}`, n % 2 === 0);
    await seed('team-b/gone', 'v1', false);
    await seed('team-c/off', 'v1', true);
    // 120 images: two listing pages; the oldest are on the second.
    for (let n = 0; n < 120; n++) pages.push(await seed('team-d/many', `v${n}`, false));

    const prefix = uniquePrefix('ia');
    const named = (name: string): TableClient =>
      TableClient.fromConnectionString(inject('storageConnectionString'), `${prefix}${name}`, {
        allowInsecureConnection: true,
      });
    await Promise.all(['Audits', 'Conversions', 'Outbox'].map((name) => named(name).createTable()));
    table = named('Audits');
    conversions = new TableConversionStore(named('Conversions'));
    outbox = new TableOutbox(named('Outbox'));
    settings = {
      name: 'sandbox',
      loginServer: registry.loginServer,
      resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox',
      auth: { type: 'password', username: registry.username!, passwordSetting: 'X' },
    };
    client = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
    });
    report = new AuditReportSource({
      registries: [settings],
      store: new TableAuditStore(table),
      policies,
      readiness: () => Promise.resolve({ ready: true, sku: 'Premium', customerManagedKey: false }),
      connectedRegistries: () => Promise.resolve([]),
      log: silentLogger,
    });
    await runAudit();
  });
  afterAll(() => t.emulator.close());

  it('writes no finding of an unchanged registry, and the report still shows every image', async () => {
    const { run, writes: written } = await runAudit();

    // The run's own row is created and completed; no finding is written or deleted.
    expect(written).toEqual({ upserts: 2, deletes: 0 });
    expect(run.counters).toMatchObject({ examined: images.size, streamable: 3, missing: 123 });
    expect(await reported()).toEqual(images);
  });

  it('reads no manifest again: what a digest is (a streaming referrer here) is kept in its finding', async () => {
    const before = (await control.requests({ listener: 'registry' })).at(-1)?.sequence ?? 0;
    await runAudit();
    const reads = await control.requests({
      listener: 'registry',
      method: 'GET',
      path: '^/v2/.+/manifests/',
      since: before,
    });

    // The first run read each untagged manifest (the seeded streaming referrers) to say what it is.
    expect(reads).toEqual([]);
    const kinds: string[] = [];
    for await (const finding of report.findings('sandbox')) kinds.push(finding.kind ?? 'unknown');
    expect(kinds.filter((kind) => kind === 'referrer')).toHaveLength(3);
    expect(kinds).not.toContain('unknown');
  });

  it('writes the finding that changed, and only that one', async () => {
    const digest = [...images.keys()].find((key) => key.startsWith('team-a/app@'))!.split('@')[1]!;
    await control.seedImage('sandbox', {
      kind: 'image',
      repository: 'team-a/app',
      tag: 'also',
      platform: 'linux/amd64',
      label: 'team-a/app:v0',
    });

    const { writes: written } = await runAudit();

    expect(written).toEqual({ upserts: 3, deletes: 0 });
    const finding = (await new TableAuditStore(table).findingsOf('sandbox', 'team-a/app')).get(digest);
    expect(finding?.tags).toEqual(expect.arrayContaining(['v0', 'also']));
  });

  it("deletes a deleted image's finding after a full listing, not after a listing cut short", async () => {
    const oldest = pages[0]!;
    await control.deleteManifest('sandbox', 'team-d/many', oldest);
    images.delete(`team-d/many@${oldest}`);
    // Every digest is due again: the first page's referrer checks spend the budget, and the part checkpoints
    // before the listing reaches the oldest image.
    clockMs += period * 1000;

    const cut = await runAudit(audit({ requestBudget: 50 }), 1);

    expect(cut.run.complete).toBe(false);
    expect(cut.run.cursor?.repository).toBe('team-d/many');
    expect(await stored()).toContain(`team-d/many@${oldest}`);

    let last = cut.run;
    const resumed = audit({ requestBudget: 50 });
    while (queue.length > 0) last = (await resumed.continue(queue.shift(), silentLogger)) ?? last;

    expect(last.complete).toBe(true);
    expect(await stored()).not.toContain(`team-d/many@${oldest}`);
    // Counted once although the repository was read twice.
    expect(last.counters).toMatchObject({ examined: images.size, missing: 122 });
    expect(await reported()).toEqual(images);
  });

  it('deletes the findings of a repository gone from the catalog, and of one whose policy is now off', async () => {
    for (const key of [...images.keys()].filter((key) => key.startsWith('team-b/gone@'))) {
      await control.deleteManifest('sandbox', 'team-b/gone', key.split('@')[1]!);
      images.delete(key);
    }
    offRepositories.add('team-c/off');
    for (const key of [...images.keys()].filter((key) => key.startsWith('team-c/off@'))) images.delete(key);

    const { run } = await runAudit();

    expect(run.complete).toBe(true);
    expect([...(await stored())].filter((key) => /^team-[bc]\//.test(key))).toEqual([]);
    expect(await reported()).toEqual(images);
  });

  it('keeps the findings of a repository ACR refused this time: the report notes it', async () => {
    const fault = await control.addFault({
      listener: 'sandbox',
      method: 'GET',
      path: '^/acr/v1/team-a/app/_manifests',
      action: { kind: 'status', status: 403, code: 'DENIED' },
    });
    try {
      const { run } = await runAudit();

      expect(run).toMatchObject({ complete: true, unreadable: ['team-a/app'] });
      expect(await reported()).toEqual(images);
    } finally {
      await control.removeFault(fault.id);
    }
  });
});
