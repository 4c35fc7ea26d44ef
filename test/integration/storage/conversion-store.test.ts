import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { DomainEvent } from '../../../lib/core/outbox.js';
import type { TrackingMessage } from '../../../lib/conversion/ports.js';
import { ValidationError } from '../../../lib/core/errors.js';
import type { ConversionRecord } from '../../../lib/conversion/record.js';
import { inFlightPartition, TableConversionStore } from '../../../lib/storage/conversion-store.js';
import { TableOutbox } from '../../../lib/storage/outbox.js';
import { StorageTrackingQueue } from '../../../lib/storage/tracking-queue.js';
import { digestOf } from '../../support/fakes/registry.js';
import { uniquePrefix } from '../../support/names.js';

const connectionString = inject('storageConnectionString');

async function freshTable(stem: string): Promise<TableClient> {
  const table = TableClient.fromConnectionString(connectionString, `${uniquePrefix(stem)}`, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  return table;
}

function record(overrides: Partial<ConversionRecord> = {}): ConversionRecord {
  return {
    registry: 'contoso',
    repository: 'team-a/app',
    digest: digestOf('app'),
    status: 'Pending',
    tags: [],
    reason: 'eligible',
    source: 'event',
    attempts: 0,
    maxAttempts: 3,
    polls: 0,
    createdAt: '2026-03-01T12:00:00.000Z',
    updatedAt: '2026-03-01T12:00:00.000Z',
    ...overrides,
  };
}

describe('TableConversionStore', () => {
  let store: TableConversionStore;

  beforeEach(async () => {
    store = new TableConversionStore(await freshTable('conv'));
  });

  it('round-trips a record: tags as an array, large numbers, optional fields absent', async () => {
    const written = record({
      status: 'Running',
      tags: ['1.0', 'latest'],
      kind: 'image',
      platforms: 'linux/amd64',
      sizeBytes: 5 * 1024 ** 3,
      operationId: 'op-1',
      trackingToken: 'token-1',
      attempts: 1,
      nextCheckAt: '2026-03-01T12:00:10.000Z',
    });

    const etag = await store.create(written);
    const read = await store.read(written);

    expect(etag).toEqual(expect.any(String));
    expect(read).toEqual({ value: written, etag });
    expect(Object.keys(read!.value).sort()).toEqual(Object.keys(written).sort());
  });

  it('drops a field set to undefined on replace, as finishing a conversion does', async () => {
    const running = record({ status: 'Running', trackingToken: 'token-1', nextCheckAt: '2026-03-01T12:00:10.000Z' });
    const etag = (await store.create(running))!;

    const replaced = await store.replace(
      { ...running, status: 'Succeeded', trackingToken: undefined, nextCheckAt: undefined },
      etag,
    );
    const read = await store.read(running);

    expect(replaced).toEqual(expect.any(String));
    expect(replaced).not.toBe(etag);
    expect(read?.value.status).toBe('Succeeded');
    expect(read?.value).not.toHaveProperty('trackingToken');
    expect(read?.value).not.toHaveProperty('nextCheckAt');
  });

  it('reads a missing row as undefined', async () => {
    expect(await store.read(record())).toBeUndefined();
  });

  it('answers undefined to a second create of the same image, keeping the first', async () => {
    const first = await store.create(record({ reason: 'first' }));

    const second = await store.create(record({ reason: 'second' }));

    expect(first).toEqual(expect.any(String));
    expect(second).toBeUndefined();
    expect((await store.read(record()))?.value.reason).toBe('first');
  });

  it('answers undefined to a replace with a stale ETag, keeping the newer write', async () => {
    const stale = (await store.create(record()))!;
    await store.replace(record({ status: 'Running' }), stale);

    const result = await store.replace(record({ status: 'Failed' }), stale);

    expect(result).toBeUndefined();
    expect((await store.read(record()))?.value.status).toBe('Running');
  });

  it('answers undefined to a replace of a row that does not exist', async () => {
    const etag = (await store.create(record({ digest: digestOf('other') })))!;

    expect(await store.replace(record(), etag)).toBeUndefined();
    expect(await store.read(record())).toBeUndefined();
  });

  it('lists by exact repository, not by name prefix', async () => {
    const repositories = [
      'team-a/app',
      'team-a/app-x',
      'team-a/application',
      'team-a/app/sub',
      'team-b/app',
      'team-a/ap',
    ];
    for (const repository of repositories) await store.create(record({ repository, digest: digestOf(repository) }));
    await store.create(record({ repository: 'team-a/app', digest: digestOf('second') }));
    await store.create(record({ registry: 'fabrikam', repository: 'team-a/app', digest: digestOf('elsewhere') }));

    const page = await store.list('contoso', { repository: 'team-a/app' }, { pageSize: 100 });

    expect(page.items.map((item) => [item.registry, item.repository, item.digest]).sort()).toEqual(
      [
        ['contoso', 'team-a/app', digestOf('team-a/app')],
        ['contoso', 'team-a/app', digestOf('second')],
      ].sort(),
    );
    expect(page.continuationToken).toBeUndefined();
  });

  it('filters by status and by last update', async () => {
    await store.create(
      record({ digest: digestOf('old-failed'), status: 'Failed', updatedAt: '2026-03-01T10:00:00.000Z' }),
    );
    await store.create(
      record({ digest: digestOf('new-failed'), status: 'Failed', updatedAt: '2026-03-01T12:00:00.000Z' }),
    );
    await store.create(
      record({ digest: digestOf('new-running'), status: 'Running', updatedAt: '2026-03-01T12:30:00.000Z' }),
    );

    const failed = await store.list('contoso', { status: 'Failed' }, { pageSize: 100 });
    const recent = await store.list('contoso', { since: new Date('2026-03-01T12:00:00.000Z') }, { pageSize: 100 });
    const recentFailed = await store.list(
      'contoso',
      { status: 'Failed', since: new Date('2026-03-01T11:00:00.000Z'), repository: 'team-a/app' },
      { pageSize: 100 },
    );

    expect(failed.items.map((item) => item.digest).sort()).toEqual(
      [digestOf('old-failed'), digestOf('new-failed')].sort(),
    );
    expect(recent.items.map((item) => item.digest).sort()).toEqual(
      [digestOf('new-failed'), digestOf('new-running')].sort(),
    );
    expect(recentFailed.items.map((item) => item.digest)).toEqual([digestOf('new-failed')]);
  });

  it('pages with continuation tokens', async () => {
    const digests = [1, 2, 3, 4, 5].map((n) => digestOf(`image-${n}`));
    for (const digest of digests) await store.create(record({ digest }));

    const pages: Array<{ items: ConversionRecord[]; continuationToken?: string }> = [];
    let token: string | undefined;
    do {
      const page = await store.list('contoso', {}, { pageSize: 2, ...(token ? { continuationToken: token } : {}) });
      pages.push(page);
      token = page.continuationToken;
    } while (token !== undefined && pages.length < 10);

    expect(pages.map((page) => page.items.length)).toEqual([2, 2, 1]);
    expect(pages.flatMap((page) => page.items.map((item) => item.digest)).sort()).toEqual([...digests].sort());
  });

  it('lists Pending and Running rows of every registry for the sweeper', async () => {
    const rows = [
      record({ registry: 'contoso', digest: digestOf('c-pending'), status: 'Pending' }),
      record({ registry: 'contoso', digest: digestOf('c-done'), status: 'Succeeded' }),
      record({ registry: 'fabrikam', digest: digestOf('f-running'), status: 'Running' }),
      record({ registry: 'fabrikam', digest: digestOf('f-skipped'), status: 'Skipped' }),
      record({ registry: 'fabrikam', digest: digestOf('f-failed'), status: 'Failed' }),
    ];
    for (const row of rows) await store.create(row);

    const inFlight: Array<[string, string, string]> = [];
    for await (const entry of store.listInFlight()) {
      expect((await store.read(entry.indexed))?.value).toEqual(entry.indexed);
      inFlight.push([entry.indexed.registry, entry.indexed.digest, entry.indexed.status]);
    }

    expect(inFlight.sort()).toEqual(
      [
        ['contoso', digestOf('c-pending'), 'Pending'],
        ['fabrikam', digestOf('f-running'), 'Running'],
      ].sort(),
    );
  });
});

describe('TableConversionStore in-flight index (issue #14, scenario 9)', () => {
  let table: TableClient;
  let store: TableConversionStore;
  const now = Date.parse('2026-03-01T12:05:00.000Z');

  beforeEach(async () => {
    table = await freshTable('idx');
    store = new TableConversionStore(table, () => now);
  });

  async function entries(): Promise<string[]> {
    const keys: string[] = [];
    for await (const entity of table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${inFlightPartition}'` },
    }))
      keys.push(entity.rowKey!);
    return keys.filter((key) => key !== '~built');
  }

  async function inFlight(): Promise<string[]> {
    const digests: string[] = [];
    for await (const entry of store.listInFlight()) digests.push(entry.indexed.digest);
    return digests.sort();
  }

  it('scenario 9: the sweeper reads the index partition, not the rows: a row the index lacks is not listed', async () => {
    await store.create(record({ digest: digestOf('indexed'), status: 'Pending' }));
    await inFlight(); // builds the index once (nothing to add) and marks it built
    // A Running row written behind the store's back (no entry): proof that listing no longer scans the rows.
    await table.createEntity({
      partitionKey: 'contoso',
      rowKey: `team-a:app@${digestOf('unindexed')}`,
      status: 'Running',
    });

    expect(await inFlight()).toEqual([digestOf('indexed')]);
  });

  it('scenario 9: an entry whose row finished is released and not listed again', async () => {
    const pending = record({ digest: digestOf('done'), status: 'Pending', updatedAt: '2026-03-01T12:00:00.000Z' });
    const etag = await store.create(pending);
    const finished = { ...pending, status: 'Succeeded' as const, updatedAt: '2026-03-01T12:01:00.000Z' };
    await store.replace(finished, etag!);

    for await (const entry of store.listInFlight()) {
      expect(entry.indexed).toMatchObject({ status: 'Pending' }); // as indexed: the row is read before acting
      await entry.release(finished);
    }

    expect(await inFlight()).toEqual([]);
    expect(await entries()).toEqual([]);
  });

  it('scenario 9: an entry newer than its finished row (a worker between index and row write) is kept', async () => {
    const digest = digestOf('racing');
    const finished = record({ digest, status: 'Succeeded', updatedAt: '2026-03-01T12:04:00.000Z' });
    const first = await store.create(finished);
    await store.replace({ ...finished, reason: 'written again' }, first!);
    // A worker making the row in flight again: its index write lands, its row write (on an old ETag) loses — the
    // moment between the two writes, frozen.
    const reindexed = record({ digest, status: 'Pending', updatedAt: '2026-03-01T12:04:59.000Z' });
    expect(await store.replace(reindexed, first!, { entersFlight: true })).toBeUndefined();

    for await (const entry of store.listInFlight()) if (entry.indexed.digest === digest) await entry.release(finished);

    expect(await entries()).toContain(`contoso|team-a:app@${digest}`);
  });

  it('scenario 9: a claim indexes the row; writes between in-flight states leave the entry alone', async () => {
    const digest = digestOf('claimed');
    for await (const _ of store.listInFlight()); // the index is built (once, from nothing)
    const skipped = record({ digest, status: 'Skipped', updatedAt: '2026-03-01T12:00:00.000Z' });
    const etag = await store.create(skipped);
    const claim = { ...skipped, status: 'Pending' as const, updatedAt: '2026-03-01T12:01:00.000Z' };
    const claimed = await store.replace(claim, etag!, { entersFlight: true });
    await store.replace({ ...claim, status: 'Running', updatedAt: '2026-03-01T12:02:00.000Z' }, claimed!);

    const listed: ConversionRecord[] = [];
    for await (const entry of store.listInFlight()) listed.push(entry.indexed);

    expect(listed).toMatchObject([{ digest, status: 'Pending', updatedAt: '2026-03-01T12:01:00.000Z' }]);
  });

  it('scenario 9: rows in flight from before the index existed are found once and indexed', async () => {
    // Written the old way: the row only.
    const old = record({ digest: digestOf('legacy'), status: 'Running' });
    await table.createEntity({
      ...old,
      partitionKey: 'contoso',
      rowKey: `team-a:app@${old.digest}`,
      tags: '[]',
    });

    expect(await inFlight()).toEqual([digestOf('legacy')]);
    expect(await entries()).toEqual([`contoso|team-a:app@${digestOf('legacy')}`]);
  });

  it('scenario 9: the index never shows up in a registry listing', async () => {
    await store.create(record({ digest: digestOf('listed'), status: 'Running' }));

    const page = await store.list('contoso', {}, { pageSize: 100 });

    expect(page.items.map((item) => item.digest)).toEqual([digestOf('listed')]);
  });
});

describe('TableOutbox', () => {
  it('stores an event once however often it is appended', async () => {
    const table = await freshTable('outbox');
    const outbox = new TableOutbox(table);
    const event: DomainEvent = {
      id: 'conversion.failed:team-a:app@sha256:abc:3',
      type: 'conversion.failed',
      time: '2026-03-01T12:00:00.000Z',
      registry: 'contoso',
      repository: 'team-a/app',
      digest: digestOf('app'),
      status: 'Failed',
      errorCode: 'UNKNOWN_ERROR',
      attempts: 3,
    };

    await outbox.append(event);
    await outbox.append({ ...event, time: '2026-03-01T12:05:00.000Z' });

    const rows: Array<Record<string, unknown>> = [];
    for await (const row of table.listEntities<Record<string, unknown>>()) rows.push(row);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      partitionKey: 'contoso',
      rowKey: event.id,
      type: 'conversion.failed',
      delivery: 'pending',
    });
    expect(JSON.parse(rows[0]!.payload as string)).toEqual(event);
  });
});

describe('StorageTrackingQueue', () => {
  const message: TrackingMessage = {
    kind: 'poll',
    registry: 'contoso',
    repository: 'team-a/app',
    digest: digestOf('app'),
    token: 'token-1',
  };

  async function freshQueue(): Promise<QueueClient> {
    const queue = new QueueClient(connectionString, uniquePrefix('track'));
    await queue.create();
    return queue;
  }

  function decode(text: string): unknown {
    return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  }

  it('sends base64 JSON, visible at once without a delay', async () => {
    const queue = await freshQueue();

    await new StorageTrackingQueue(queue).send(message, 0);

    const peeked = await queue.peekMessages({ numberOfMessages: 32 });
    expect(peeked.peekedMessageItems.map((item) => decode(item.messageText))).toEqual([message]);
  });

  it('keeps a delayed message invisible until its delay has passed', async () => {
    const queue = await freshQueue();
    const sentAt = Date.now();

    await new StorageTrackingQueue(queue).send(message, 1);
    const immediately = await queue.peekMessages({ numberOfMessages: 32 });
    const visible = await vi.waitFor(
      async () => {
        const peeked = await queue.peekMessages({ numberOfMessages: 32 });
        if (peeked.peekedMessageItems.length === 0) throw new Error('not visible yet');
        return peeked.peekedMessageItems;
      },
      { timeout: 10_000, interval: 100 },
    );

    expect(immediately.peekedMessageItems).toEqual([]);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    expect(visible.map((item) => decode(item.messageText))).toEqual([message]);
  });

  it('caps a delay beyond the service maximum of 7 days instead of failing', async () => {
    const queue = await freshQueue();

    await new StorageTrackingQueue(queue).send(message, 30 * 24 * 3600);

    const properties = await queue.getProperties();
    const peeked = await queue.peekMessages({ numberOfMessages: 32 });
    expect(properties.approximateMessagesCount).toBe(1);
    expect(peeked.peekedMessageItems).toEqual([]);
  });
});

describe('continuation tokens from callers', () => {
  it('answers a token this API never handed out with a validation error, not a crash', async () => {
    const store = new TableConversionStore(
      TableClient.fromConnectionString(inject('storageConnectionString'), 'tokencheck', {
        allowInsecureConnection: true,
      }),
    );

    for (const token of ['garbage', 'eyJ4Ijox', Buffer.from('{"nextPartitionKey":1}').toString('base64')]) {
      await expect(store.list('sandbox', {}, { pageSize: 10, continuationToken: token })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });
});
