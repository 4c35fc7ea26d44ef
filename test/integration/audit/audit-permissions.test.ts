import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImageAudit, type AuditMessage } from '../../../lib/audit/images.js';
import type { AuditRun } from '../../../lib/audit/model.js';
import { AuditReportSource } from '../../../lib/audit/report-source.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { silentLogger } from '../../../lib/core/logging.js';
import { configPolicySource } from '../../../lib/policy/config-source.js';
import { policySchema } from '../../../lib/policy/model.js';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import { TableConversionStore } from '../../../lib/storage/conversion-store.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { uniquePrefix } from '../../support/names.js';
import { emulatorRegistryClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

/**
 * Issue #16 § 3: the audit signed in as an identity whose roles do not let it read everything, on an ABAC-mode
 * registry (Microsoft Learn, "Azure Container Registry roles directory reference"; Azure/acr abac-repo-permissions):
 * Reader alone has no data-plane permission, so not even the catalog can be listed; with Catalog Lister the
 * repositories are listed but none can be read. Either way the run completes and says what it could not read.
 */
describe('audit with fewer rights than it needs', () => {
  let t: TestEmulator;
  let audit: ImageAudit;
  let source: AuditReportSource;
  const queue: AuditMessage[] = [];
  const identity = '00000000-0000-0000-0000-00000000aa01';

  beforeAll(async () => {
    t = await startTestEmulator({
      registries: [{ name: 'sandbox' }],
      // The Entra token a test's credential returns is the identity's object id.
      verifyAccessToken: (token) => (token.length > 0 ? { oid: token } : undefined),
    });
    const registry = t.emulator.registry('sandbox');
    for (const repository of ['team-a/app', 'team-b/api'])
      await t.control.seedImage('sandbox', { kind: 'image', repository, tag: 'v1', platform: 'linux/amd64' });
    await t.control.setPermissions('sandbox', { mode: 'AbacRepositoryPermissions' });
    const connection = inject('storageConnectionString');
    const prefix = uniquePrefix('ap');
    const table = (name: string): TableClient =>
      TableClient.fromConnectionString(connection, `${prefix}${name}`, { allowInsecureConnection: true });
    await Promise.all(['Audits', 'Conversions', 'Outbox'].map((name) => table(name).createTable()));
    const settings: RegistrySettings = {
      name: 'sandbox',
      loginServer: registry.loginServer,
      resourceId: '/subscriptions/0/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/sandbox',
      auth: { type: 'identity' },
    };
    const client = emulatorRegistryClient(registry, identity);
    const store = new TableAuditStore(table('Audits'));
    const policies = configPolicySource(policySchema.parse({ mode: 'onPush' }));
    const ready = { ready: true, sku: 'Premium', customerManagedKey: false };
    audit = new ImageAudit({
      registries: [settings],
      registry: () => client,
      conversions: new TableConversionStore(table('Conversions')),
      service: { request: () => Promise.reject(new Error('backfill is off in this test')) },
      policies,
      readiness: () => Promise.resolve(ready),
      store,
      queue: { send: (message) => Promise.resolve(void queue.push(message)) },
      outbox: new TableOutbox(table('Outbox')),
      settings: { reverifySeconds: 3_600, requestBudget: 1_000, backfillBudget: 0, quietSeconds: 600 },
      clock: { now: () => new Date() },
    });
    source = new AuditReportSource({
      registries: [settings],
      store,
      policies,
      readiness: () => Promise.resolve(ready),
      connectedRegistries: () => Promise.resolve([]),
      log: silentLogger,
    });
  });
  afterAll(() => t.emulator.close());

  async function runAudit(): Promise<AuditRun> {
    await audit.start('sandbox', silentLogger);
    let last: AuditRun | undefined;
    while (queue.length > 0) last = await audit.continue(queue.shift(), silentLogger);
    if (last === undefined) throw new Error('the audit never ran');
    return last;
  }

  it('with Reader only: the run completes and says the repositories could not be listed, and the report too', async () => {
    await t.control.assignRoles('sandbox', identity, [{ role: 'Reader' }]);

    const run = await runAudit();

    expect(run.complete).toBe(true);
    expect(run.catalogRefused).toMatch(/^ACR answered 40[13] /);
    const report = await source.registryReport('sandbox');
    expect(report.readiness.notes.join('\n')).toMatch(/could not list the registry's repositories/);
  });

  it('with Reader and Catalog Lister: every repository is named unreadable', async () => {
    await t.control.assignRoles('sandbox', identity, [
      { role: 'Reader' },
      { role: 'Container Registry Repository Catalog Lister' },
    ]);

    const run = await runAudit();

    expect(run).toMatchObject({ complete: true, unreadable: ['team-a/app', 'team-b/api'] });
    expect(run.catalogRefused).toBeUndefined();
    const report = await source.registryReport('sandbox');
    expect(report.readiness.notes.join('\n')).toMatch(/could not read 2 repositories: team-a\/app, team-b\/api/);
  });
});
