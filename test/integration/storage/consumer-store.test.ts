import { TableClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import type { ConsumerState } from '../../../lib/consumers/ports.js';
import { TableConsumerStore } from '../../../lib/storage/consumer-store.js';
import { uniquePrefix } from '../../support/names.js';

const clusterId = '/subscriptions/s1/resourceGroups/AKS-rg/providers/Microsoft.ContainerService/managedClusters/aks1';

const state = (change: Partial<ConsumerState> = {}): ConsumerState => ({
  registry: 'contoso',
  clusterId,
  clusterName: 'aks1',
  pull: 'granted',
  pools: { nodes: true },
  open: [],
  since: '2026-11-29T08:00:00.000Z',
  ...change,
});

/** The consumer audit's states on Azurite: '/'-free keys, insert-if-absent, replace and delete on the ETag. */
describe('TableConsumerStore', () => {
  it('stores a state per (registry, cluster) under a valid key, conditionally on its ETag', async () => {
    const table = TableClient.fromConnectionString(
      inject('storageConnectionString'),
      `${uniquePrefix('cs')}Consumers`,
      { allowInsecureConnection: true },
    );
    await table.createTable();
    const store = new TableConsumerStore(table);

    expect(await store.save(state(), undefined)).toBe(true);
    expect(await store.save(state(), undefined)).toBe(false); // insert-if-absent: another instance was first
    // ARM spells resource groups in varying case: the same cluster, whatever the case.
    const read = await store.state('contoso', clusterId.replace('AKS-rg', 'aks-RG'));
    expect(read?.value).toEqual(state());
    const all = await store.states('contoso');
    expect([...all.keys()]).toEqual([
      'subscriptions:s1:resourcegroups:aks-rg:providers:microsoft.containerservice:managedclusters:aks1',
    ]);
    expect(await store.states('other')).toEqual(new Map());

    const changed = state({ pools: { nodes: false }, open: ['pool:nodes'], since: '2026-11-29T08:30:00.000Z' });
    expect(await store.save(changed, read!.etag)).toBe(true);
    expect(await store.save(state(), read!.etag)).toBe(false); // replace on a stale ETag loses
    const now = await store.state('contoso', clusterId);
    expect(now?.value).toEqual(changed);

    expect(await store.remove('contoso', clusterId, read!.etag)).toBe(false);
    expect(await store.remove('contoso', clusterId, now!.etag)).toBe(true);
    expect(await store.state('contoso', clusterId)).toBeUndefined();
    expect(await store.remove('contoso', clusterId, now!.etag)).toBe(false);
  });
});
