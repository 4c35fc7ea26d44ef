import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backfillMessageSchema } from '../../../lib/policy/backfill-schedule.js';
import { systemClock } from '../../../lib/core/clock.js';
import { silentLogger as log } from '../../../lib/core/logging.js';
import { AcrPolicyEffects } from '../../../lib/policy/effects.js';
import { policySchema, type Policy, type PolicySource } from '../../../lib/policy/model.js';
import type { PolicyChange } from '../../../lib/policy/ports.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import { StorageBackfillQueue } from '../../../lib/storage/backfill-queue.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import { SwitchReconciler } from '../../../lib/policy/drift.js';
import { uniquePrefix } from '../../support/names.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

const connectionString = inject('storageConnectionString');
const native: Policy = policySchema.parse({ mode: 'native' });
const onPush: Policy = policySchema.parse({ mode: 'onPush' });

/**
 * Policy effects against the emulated ACR and Azurite: ACR's own switch really makes the registry convert pushes
 * by itself (and stops when the scope leaves native), drift lands in the outbox table, backfill runs in the queue.
 */
describe('policy effects (native mode, backfill scheduling)', () => {
  let t: TestEmulator;
  let outboxTable: TableClient;
  let auditTable: TableClient;
  let backfillQueue: QueueClient;
  /** The policy the resolver reports for every repository: what the store holds after the change. */
  let governing: { scope: string; policy: Policy };

  const client = (name: string): RegistryClient => {
    const registry = t.emulator.registry(name);
    return new RegistryClient({
      loginServer: registry.loginServer,
      credentials: { type: 'password', username: registry.username!, password: registry.password! },
      httpClient: trustingHttpClient(registry.caFile),
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
  };
  const clients = new Map<string, RegistryClient>();
  const policies: PolicySource = { policyFor: () => Promise.resolve(governing) };
  let effects: AcrPolicyEffects;
  const change = (
    registry: string,
    scope: string,
    before: Policy | undefined,
    after: Policy | undefined,
  ): PolicyChange => ({ registry, scope, before, after, principal: 'it' });
  const operationsFor = async (registry: string, digest: string) =>
    (await t.control.listOperations(registry)).filter((operation) => operation.digest === digest);

  beforeAll(async () => {
    t = await startTestEmulator({
      registries: [
        { name: 'sandbox', sku: 'Premium' },
        { name: 'standard', sku: 'Standard' },
        { name: 'abac', sku: 'Premium' },
      ],
      // An Entra token here is the identity's object id: the `abac` test signs in as a role-restricted identity.
      verifyAccessToken: (token) => (token.length > 0 ? { oid: token } : undefined),
    });
    outboxTable = TableClient.fromConnectionString(connectionString, uniquePrefix('outbox'), {
      allowInsecureConnection: true,
    });
    await outboxTable.createTable();
    auditTable = TableClient.fromConnectionString(connectionString, uniquePrefix('audits'), {
      allowInsecureConnection: true,
    });
    await auditTable.createTable();
    backfillQueue = new QueueClient(connectionString, uniquePrefix('backfill'));
    await backfillQueue.create();
    const registry = (name: string): RegistryClient => {
      if (!clients.has(name)) clients.set(name, client(name));
      return clients.get(name)!;
    };
    effects = new AcrPolicyEffects({
      native: {
        registry,
        policies,
        switches: new SwitchReconciler({
          registry,
          store: new TableAuditStore(auditTable),
          outbox: new TableOutbox(outboxTable),
          clock: systemClock,
        }),
      },
      backfillQueue: new StorageBackfillQueue(backfillQueue),
      newRunId: () => 'run-it-1',
    });
    for (const repository of ['team-a/app', 'team-a/web', 'team-b/api'])
      await t.control.seedImage('sandbox', { repository, tag: 'seed', kind: 'image' });
    await t.control.seedImage('standard', { repository: 'team-a/app', tag: 'seed', kind: 'image' });
  });
  afterAll(() => t.emulator.close());

  it('native on a glob: the emulated ACR converts new pushes by itself; leaving native stops that', async () => {
    governing = { scope: 'team-a/*', policy: native };

    const report = await effects.apply(change('sandbox', 'team-a/*', undefined, native), log);

    expect(report.native).toEqual([
      { repository: 'team-a/app', convertPushedImages: true, drift: false },
      { repository: 'team-a/web', convertPushedImages: true, drift: false },
    ]);
    expect(report.backfill).toBeUndefined();
    const pushed = await t.control.seedImage('sandbox', {
      repository: 'team-a/app',
      tag: 'v2',
      kind: 'image',
      label: 'native-on',
    });
    expect(await operationsFor('sandbox', pushed.digest)).toHaveLength(1);
    const outside = await t.control.seedImage('sandbox', {
      repository: 'team-b/api',
      tag: 'v2',
      kind: 'image',
      label: 'outside',
    });
    expect(await operationsFor('sandbox', outside.digest)).toHaveLength(0);

    governing = { scope: 'team-a/*', policy: onPush };
    const away = await effects.apply(change('sandbox', 'team-a/*', native, onPush), log);

    expect(away.native?.map((entry) => entry.convertPushedImages)).toEqual([false, false]);
    expect((await client('sandbox').getRepositoryStreaming('team-a/web')).convertPushedImages).toBe(false);
    const later = await t.control.seedImage('sandbox', {
      repository: 'team-a/app',
      tag: 'v3',
      kind: 'image',
      label: 'native-off',
    });
    expect(await operationsFor('sandbox', later.digest)).toHaveLength(0);
  });

  it('records drift in the outbox when ACR refuses the switch (a registry that is not Premium), once per change', async () => {
    governing = { scope: 'team-a/app', policy: native };
    const refused = change('standard', 'team-a/app', onPush, native);

    const report = await effects.apply(refused, log);
    await effects.apply(refused, log);

    expect(report.native).toEqual([{ repository: 'team-a/app', convertPushedImages: false, drift: true }]);
    const rows = [];
    for await (const entity of outboxTable.listEntities<{ type: string; payload: string }>()) rows.push(entity);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ partitionKey: 'standard', type: 'policy.drift' });
    expect(JSON.parse(rows[0]!.payload)).toMatchObject({
      repository: 'team-a/app',
      scope: 'team-a/app',
      expected: true,
      actual: false,
    });
    expect((JSON.parse(rows[0]!.payload) as { message: string }).message).toMatch(/403 DENIED/);
    // The episode is stored open, so the next audit's refusal is the same drift, not a new alert.
    const records = await new TableAuditStore(auditTable).driftRecords('standard');
    expect(records.get('team-a/app')?.value).toMatchObject({ state: 'open', foundBy: 'policy-change', episode: 1 });
  });

  it.each([
    { reading: 'Writer sets the switch both ways (A12, the default)', switchOffActions: [], refused: false },
    { reading: 'the registry reserves turning it off to Contributor', switchOffActions: ['delete'], refused: true },
  ])('leaving native on an ABAC registry with Repository Writer: $reading', async (c) => {
    const repository = `team-w/${c.refused ? 'refused' : 'allowed'}`;
    await t.control.seedImage('abac', { repository, tag: 'seed', kind: 'image' });
    await t.control.setPermissions('abac', {
      mode: 'AbacRepositoryPermissions',
      switchOffActions: c.switchOffActions,
    });
    await t.control.assignRoles('abac', 'app-writer', [{ role: 'Container Registry Repository Writer' }]);
    const registry = t.emulator.registry('abac');
    const writer = new RegistryClient({
      loginServer: registry.loginServer,
      credentials: {
        type: 'identity',
        audience: 'https://containerregistry.azure.net',
        credential: {
          getToken: () => Promise.resolve({ token: 'app-writer', expiresOnTimestamp: Date.now() + 3.6e6 }),
        },
      },
      httpClient: trustingHttpClient(registry.caFile),
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    const asWriter = new AcrPolicyEffects({
      native: {
        registry: () => writer,
        policies,
        switches: new SwitchReconciler({
          registry: () => writer,
          store: new TableAuditStore(auditTable),
          outbox: new TableOutbox(outboxTable),
          clock: systemClock,
        }),
      },
      backfillQueue: new StorageBackfillQueue(backfillQueue),
      newRunId: () => 'run-it-writer',
    });

    governing = { scope: repository, policy: native };
    const on = await asWriter.apply(change('abac', repository, undefined, native), log);
    governing = { scope: repository, policy: onPush };
    const off = await asWriter.apply(change('abac', repository, native, onPush), log);

    expect(on.native).toEqual([{ repository, convertPushedImages: true, drift: false }]);
    expect(off.native).toEqual([{ repository, convertPushedImages: c.refused, drift: c.refused }]);
    const alerts = [];
    for await (const row of outboxTable.listEntities<{ type: string; payload: string }>({
      queryOptions: { filter: `PartitionKey eq 'abac'` },
    }))
      alerts.push(JSON.parse(row.payload) as { repository: string; message: string; remediation?: string });
    const mine = alerts.filter((alert) => alert.repository === repository);
    if (!c.refused) expect(mine).toEqual([]);
    else {
      expect(mine).toHaveLength(1);
      expect(mine[0]!.message).toMatch(/403 DENIED/);
      expect(mine[0]!.remediation).toMatch(/Container Registry Repository Contributor/);
      expect(mine[0]!.remediation).toMatch(/abacAllowDisableStreaming: true/);
      expect(mine[0]!.remediation).toContain(`--repository ${repository} --enable-streaming false`);
    }
  });

  it('schedules a backfill run as a base64 JSON queue message the worker accepts', async () => {
    const backfilling = policySchema.parse({ mode: 'onPush', backfill: { enabled: true } });
    governing = { scope: 'team-b/*', policy: backfilling };

    const report = await effects.apply(change('sandbox', 'team-b/*', onPush, backfilling), log);

    expect(report).toEqual({ backfill: { runId: 'run-it-1', scheduled: true } });
    const { receivedMessageItems } = await backfillQueue.receiveMessages();
    expect(receivedMessageItems).toHaveLength(1);
    const message: unknown = JSON.parse(Buffer.from(receivedMessageItems[0]!.messageText, 'base64').toString('utf8'));
    expect(backfillMessageSchema.parse(message)).toEqual({
      registry: 'sandbox',
      scope: 'team-b/*',
      runId: 'run-it-1',
      run: 1,
    });
  });
});
