import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EmulatorControlClient } from '../../../dev/emulator/control-client.js';
import { ImageAudit, type AuditMessage } from '../../../lib/audit/images.js';
import { AuditReportSource } from '../../../lib/audit/report-source.js';
import type { AuditRun } from '../../../lib/audit/model.js';
import type { PolicyDriftEvent } from '../../../lib/core/outbox.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { silentLogger } from '../../../lib/core/logging.js';
import type { RegistryReadiness } from '../../../lib/policy/eligibility.js';
import { SwitchReconciler } from '../../../lib/policy/drift.js';
import { policySchema, type AppliedPolicy, type PolicySource } from '../../../lib/policy/model.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import { TableConversionStore } from '../../../lib/storage/conversion-store.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { uniquePrefix } from '../../support/names.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

const native = policySchema.parse({ mode: 'native' });
const onPush = policySchema.parse({ mode: 'onPush' });

/** `team-n/**` is native; everything else falls to an onPush `_default`. */
const policies: PolicySource = {
  policyFor: (_registry, repository): Promise<AppliedPolicy> =>
    Promise.resolve(
      repository.startsWith('team-n/') ? { scope: 'team-n/**', policy: native } : { scope: '_default', policy: onPush },
    ),
};

/**
 * Issue #15, item 2: the audit holds every repository's ACR switch to its governing policy, against the emulator
 * (which keeps the switch and answers its GET and POST as ACR does) and Azurite. Drift is repaired, alerted once per
 * transition, reported, and costs one GET per repository when there is none.
 */
describe('audit: ACR switch drift', () => {
  let t: TestEmulator;
  let control: EmulatorControlClient;
  let store: TableAuditStore;
  let outboxTable: TableClient;
  let audit: (readiness?: RegistryReadiness, requestBudget?: number, laterMs?: number) => ImageAudit;
  let source: AuditReportSource;
  const queue: AuditMessage[] = [];
  const acrSwitch = (repository: string): boolean | undefined =>
    t.emulator.state.registry('sandbox')?.store.repository(repository)?.streaming.convertPushedImages;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    control = new EmulatorControlClient(t.emulator.controlUrl);
    const registry = t.emulator.registry('sandbox');
    for (const repository of ['team-n/a', 'team-n/b', 'team-n/c', 'other/app'])
      for (const tag of ['v1', 'v2'])
        await control.seedImage('sandbox', { kind: 'image', repository, tag, platform: 'linux/amd64' });
    const connection = inject('storageConnectionString');
    const prefix = uniquePrefix('sw');
    const table = (name: string): TableClient =>
      TableClient.fromConnectionString(connection, `${prefix}${name}`, { allowInsecureConnection: true });
    await Promise.all(['Audits', 'Conversions', 'Outbox'].map((name) => table(name).createTable()));
    store = new TableAuditStore(table('Audits'));
    outboxTable = table('Outbox');
    const outbox = new TableOutbox(outboxTable);
    const client = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
    });
    const settings: RegistrySettings = {
      name: 'sandbox',
      loginServer: registry.loginServer,
      resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox',
      auth: { type: 'password', username: registry.username!, passwordSetting: 'X' },
    };
    const switches = new SwitchReconciler({ registry: () => client, store, outbox, clock: { now: () => new Date() } });
    const premium: RegistryReadiness = { ready: true, sku: 'Premium', customerManagedKey: false };
    audit = (readiness = premium, requestBudget = 1_000, laterMs = 0) =>
      new ImageAudit({
        registries: [settings],
        registry: () => client,
        conversions: new TableConversionStore(table('Conversions')),
        service: { request: () => Promise.reject(new Error('backfill is off in this test')) },
        policies,
        readiness: () => Promise.resolve(readiness),
        store,
        switches,
        queue: { send: (message) => Promise.resolve(void queue.push(message)) },
        outbox,
        settings: { reverifySeconds: 3_600, requestBudget, backfillBudget: 0, quietSeconds: 600 },
        clock: { now: () => new Date(Date.now() + laterMs) },
      });
    source = new AuditReportSource({
      registries: [settings],
      store,
      drift: store,
      policies,
      readiness: () => Promise.resolve(premium),
      connectedRegistries: () => Promise.resolve([]),
      log: silentLogger,
    });
  });
  afterAll(() => t.emulator.close());

  async function runAudit(auditor = audit()): Promise<{ run: AuditRun; gets: number; posts: number; parts: number }> {
    await control.clearRequests();
    await auditor.start('sandbox', silentLogger);
    let last: AuditRun | undefined;
    let parts = 0;
    while (queue.length > 0) {
      last = await auditor.continue(queue.shift(), silentLogger);
      parts++;
    }
    if (last === undefined) throw new Error('the audit never ran');
    const gets = (await control.requests({ method: 'GET', path: '^/acr/v1/[^_]+/_streaming$' })).length;
    const posts = (await control.requests({ method: 'POST', path: '^/acr/v1/[^_]+/_streaming$' })).length;
    return { run: last, gets, posts, parts };
  }

  async function driftEvents(): Promise<PolicyDriftEvent[]> {
    const events: PolicyDriftEvent[] = [];
    for await (const row of outboxTable.listEntities<{ type: string; payload: string }>())
      if (row.type === 'policy.drift') events.push(JSON.parse(row.payload) as PolicyDriftEvent);
    return events.sort((a, b) => a.id.localeCompare(b.id));
  }

  it('sets drifted switches back, alerts once per transition, and reports open and repaired drift', async () => {
    await control.setConvertPushedImages('sandbox', 'team-n/a', true);
    await control.setConvertPushedImages('sandbox', 'other/app', true);
    const refusal = await control.addFault({
      listener: 'sandbox',
      method: 'POST',
      path: '^/acr/v1/team-n/c/_streaming$',
      action: { kind: 'status', status: 403, code: 'DENIED' },
    });

    const first = await runAudit();

    // native wants on, onPush wants off (ACR and the app must never both convert a push).
    expect([acrSwitch('team-n/a'), acrSwitch('team-n/b'), acrSwitch('team-n/c'), acrSwitch('other/app')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(first.run.counters).toMatchObject({ switchChecks: 4, switchRepairs: 2, switchDrift: 1 });
    expect(first.gets).toBe(4 + 3); // one per repository, and a read-back after each write
    const events = await driftEvents();
    expect(events.map((event) => [event.repository, event.severity, event.facts.State])).toEqual([
      ['other/app', 'warning', 'repaired'],
      ['team-n/b', 'warning', 'repaired'],
      ['team-n/c', 'error', 'not repaired'],
    ]);
    expect(events.find((event) => event.repository === 'team-n/c')).toMatchObject({
      id: 'policy.drift:team-n:c:e1:found',
      expected: true,
      actual: false,
      scope: 'team-n/**',
    });
    expect(events.find((event) => event.repository === 'team-n/c')!.message).toMatch(/403 DENIED/);
    expect(events.find((event) => event.repository === 'team-n/c')!.remediation).toContain(
      'az acr artifact-streaming update -n sandbox --repository team-n/c --enable-streaming true',
    );

    // Nothing changed: one GET per repository, no write, no alert; the refused repair is tried again, quietly.
    const second = await runAudit();
    expect(second.run.counters).toMatchObject({ switchChecks: 4, switchRepairs: 0, switchDrift: 1 });
    expect(second.posts).toBe(1);
    expect(await driftEvents()).toHaveLength(3);

    // ACR takes the value once the cause is gone: the open episode closes with one alert.
    await control.removeFault(refusal.id);
    const third = await runAudit();
    expect(acrSwitch('team-n/c')).toBe(true);
    expect(third.run.counters).toMatchObject({ switchRepairs: 1, switchDrift: 0 });
    const after = await driftEvents();
    expect(after).toHaveLength(4);
    expect(after.find((event) => event.id === 'policy.drift:team-n:c:e1:closed')).toMatchObject({
      severity: 'warning',
      actual: true,
    });
    const fourth = await runAudit();
    expect(fourth).toMatchObject({ gets: 4, posts: 0 });
    expect(await driftEvents()).toHaveLength(4);

    const report = await source.registryReport('sandbox');
    expect(report.drift.map((entry) => [entry.repository, entry.state, entry.foundBy])).toEqual(
      expect.arrayContaining([
        ['team-n/c', 'closed', 'audit'],
        ['team-n/b', 'closed', 'audit'],
        ['other/app', 'closed', 'audit'],
      ]),
    );
    expect(report.drift).toHaveLength(3);
  });

  it('a continuation does not check (nor count) a repository twice', async () => {
    await control.setConvertPushedImages('sandbox', 'team-n/a', false);

    // Past the re-verification period, with one referrer check per message: every repository checkpoints inside
    // itself and is continued by the next message.
    const run = await runAudit(audit(undefined, 1, 2 * 3_600_000));

    expect(run.parts).toBeGreaterThan(4);
    expect(run.run.counters).toMatchObject({ switchChecks: 4, switchRepairs: 1 });
    expect(run.gets).toBe(4 + 1);
    expect(acrSwitch('team-n/a')).toBe(true);
  });

  it('leaves the switches of a registry that cannot stream alone', async () => {
    await control.setConvertPushedImages('sandbox', 'team-n/b', false);

    const run = await runAudit(audit({ ready: false, sku: 'Standard', reason: 'not Premium' }));

    expect(run.gets).toBe(0);
    expect(run.run.counters).toMatchObject({ switchChecks: 0 });
    expect(acrSwitch('team-n/b')).toBe(false);
    await control.setConvertPushedImages('sandbox', 'team-n/b', true);
  });
});
