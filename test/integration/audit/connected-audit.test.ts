import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { ConnectedRegistryAudit, type ConnectedRegistryView } from '../../../lib/audit/connected.js';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';
import { silentLogger } from '../../../lib/core/logging.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { uniquePrefix } from '../../support/names.js';

const registry: RegistrySettings = {
  name: 'sandbox',
  loginServer: 'localhost:1',
  resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/sandbox',
  auth: { type: 'identity' },
};

/** Transitions only: a connected registry going online → stale → online raises one stale and one recovered alert. */
describe('connected-registry audit', () => {
  it('alerts once on becoming stale and once on recovering, never while the state holds', async () => {
    const connection = inject('storageConnectionString');
    const prefix = uniquePrefix('cr');
    const audits = TableClient.fromConnectionString(connection, `${prefix}Audits`, { allowInsecureConnection: true });
    const outboxTable = TableClient.fromConnectionString(connection, `${prefix}Outbox`, {
      allowInsecureConnection: true,
    });
    await Promise.all([audits.createTable(), outboxTable.createTable()]);
    const outbox = new TableOutbox(outboxTable);
    let now = Date.parse('2026-11-23T12:00:00Z');
    let lastActivity = now - 60_000;
    const view = (): ConnectedRegistryView => ({
      name: 'edge1',
      mode: 'ReadOnly',
      connectionState: 'Online',
      activation: { status: 'Active' },
      lastActivityTime: new Date(lastActivity),
      parent: { syncProperties: { schedule: '*/10 * * * *', syncWindow: 'PT1H' } },
    });
    const never: ConnectedRegistryView = {
      name: 'edgenever',
      connectionState: 'Offline',
      activation: { status: 'Inactive' },
    };
    const audit = new ConnectedRegistryAudit({
      registries: [registry],
      list: () => toAsync([view(), never]),
      store: new TableAuditStore(audits),
      outbox,
      clock: { now: () => new Date(now) },
      staleMinutes: 0,
    });
    const events = async (): Promise<Array<{ type: string; facts?: Record<string, string> }>> => {
      const rows: Array<{ type: string; facts?: Record<string, string> }> = [];
      for await (const row of outbox.pending())
        rows.push(row.payload as { type: string; facts?: Record<string, string> });
      return rows;
    };

    await audit.run(silentLogger); // online
    now += 15 * 60_000;
    lastActivity = now - 60_000;
    await audit.run(silentLogger); // still online
    now += 3 * 3_600_000; // no activity for 3 h: two 10-minute intervals plus a 1 h window is 80 minutes
    const stale = await audit.run(silentLogger);
    now += 15 * 60_000;
    await audit.run(silentLogger); // still stale
    lastActivity = now;
    await audit.run(silentLogger); // recovered

    const edge = stale.get('sandbox')?.find((report) => report.name === 'edge1');
    const inactive = stale.get('sandbox')?.find((report) => report.name === 'edgenever');
    expect(edge?.state).toBe('stale');
    expect(edge?.reason).toContain('80 minutes');
    expect(inactive?.state).toBe('inactive');
    expect(inactive?.remediation).toContain('az acr connected-registry get-settings');
    const raised = (await events()).map((event) => `${event.type}:${event.facts?.['Connected registry'] ?? ''}`);
    expect(raised.sort()).toEqual(['connectedRegistry.recovered:edge1', 'connectedRegistry.stale:edge1']);
  });
});

async function* toAsync<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield await Promise.resolve(item);
}
