import { TableClient } from '@azure/data-tables';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { TableAuditStore } from '../../../lib/storage/audit-store.js';
import { type StoredFinding } from '../../../lib/audit/model.js';
import { uniquePrefix } from '../../support/names.js';

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const finding = (registry: string, repository: string, n: number): StoredFinding => ({
  registry,
  repository,
  digest: digest(n),
  tags: [`t${n}`],
  platforms: 'linux/amd64',
  status: 'missing',
  reason: 'no streaming artifact',
  checkedAt: '2026-11-23T00:00:00.000Z',
  runId: '00000000-0000-4000-8000-000000000000',
});

async function freshTable(prefix: string): Promise<TableClient> {
  const table = TableClient.fromConnectionString(inject('storageConnectionString'), `${uniquePrefix(prefix)}Audits`, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  return table;
}

/**
 * Findings are partitioned per repository (one partition's writes are capped in Azure, and Azurite's upserts slow
 * down with the partition's size), while a registry's findings stay one key range: neighbours whose names share a
 * prefix never leak into each other's reads.
 */
describe('audit store: findings per repository', () => {
  let table: TableClient;
  let store: TableAuditStore;

  beforeAll(async () => {
    table = await freshTable('as');
    store = new TableAuditStore(table);
    // 250 findings of one repository: three transactions of the same partition.
    await store.saveFindings(
      'reg',
      'team/app',
      Array.from({ length: 250 }, (_, n) => finding('reg', 'team/app', n)),
    );
    for (const repository of ['team', 'team-app', 'team/app/sub'])
      await store.saveFindings('reg', repository, [finding('reg', repository, 1_000)]);
    await store.saveFindings('reg2', 'team/app', [finding('reg2', 'team/app', 2_000)]);
  });

  it('reads back one repository exactly, not its prefix neighbours', async () => {
    const app = await store.findingsOf('reg', 'team/app');
    expect(app.size).toBe(250);
    expect([...app.values()].every((f) => f.repository === 'team/app')).toBe(true);
    expect([...(await store.findingsOf('reg', 'team')).keys()]).toEqual([digest(1_000)]);
  });

  it("lists a registry's findings across its repositories and no other registry's", async () => {
    const all: StoredFinding[] = [];
    for await (const f of store.allFindings('reg')) all.push(f);
    expect(all).toHaveLength(253);
    expect(new Set(all.map((f) => f.repository))).toEqual(new Set(['team/app', 'team', 'team-app', 'team/app/sub']));
    expect(all.some((f) => f.registry !== 'reg')).toBe(false);
  });

  it('gives each repository its own partition', async () => {
    const partitions = new Set<string>();
    for await (const entity of table.listEntities()) partitions.add(entity.partitionKey ?? '');
    expect(partitions.size).toBe(5);
    // Rewriting a page replaces, never duplicates.
    await store.saveFindings('reg', 'team/app', [{ ...finding('reg', 'team/app', 0), status: 'converted' }]);
    const app = await store.findingsOf('reg', 'team/app');
    expect(app.size).toBe(250);
    expect(app.get(digest(0))?.status).toBe('converted');
  });
});

/** Issue #19 § 4: what the audit deletes with, now that it no longer tells current findings by a per-run rewrite. */
describe('audit store: deleting findings', () => {
  let store: TableAuditStore;

  beforeAll(async () => {
    store = new TableAuditStore(await freshTable('ad'));
    await store.saveFindings(
      'reg',
      'team/app',
      [0, 1, 2, 3].map((n) => finding('reg', 'team/app', n)),
    );
    await store.saveFindings('reg', 'team/old', [finding('reg', 'team/old', 9)]);
  });

  it('deletes by digest, also when another delivery deleted one of them first', async () => {
    await store.deleteFindings('reg', 'team/app', [digest(1)]);

    // digest(1) is gone already: its transaction fails whole (learn.microsoft.com/rest/api/storageservices/
    // performing-entity-group-transactions), and the others are still deleted.
    await store.deleteFindings('reg', 'team/app', [digest(0), digest(1), digest(2)]);

    expect([...(await store.findingsOf('reg', 'team/app')).keys()]).toEqual([digest(3)]);
  });

  it('indexes the repositories of findings written before the index, once, and forgets a deleted one', async () => {
    expect(await store.findingRepositories('reg')).toEqual(new Set(['team/app', 'team/old']));

    await store.deleteRepositoryFindings('reg', 'team/old');
    await store.addFindingRepository('reg', 'team/new');

    expect(await store.findingRepositories('reg')).toEqual(new Set(['team/app', 'team/new']));
    expect((await store.findingsOf('reg', 'team/old')).size).toBe(0);
  });
});
