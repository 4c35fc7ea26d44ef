import { odata, type TableClient } from '@azure/data-tables';
import type { AlertOutbox } from '../alerts/ports.js';
import type { Outbox, OutboxEvent, OutboxRow } from '../core/outbox.js';
import type { Versioned } from '../core/image.js';
import { isStatus } from './table-errors.js';

interface OutboxEntity {
  partitionKey: string;
  rowKey: string;
  type: string;
  time: string;
  delivery: OutboxRow['delivery'];
  payload: string;
}

/**
 * The transactional outbox of domain events: a row per event, keyed by its deterministic id so recording the
 * same outcome twice (a redelivered message, a retried step) stores it once. After a new row is written the
 * dispatcher is notified at once; the alert relay picks up any notification that was lost.
 */
export class TableOutbox implements Outbox, AlertOutbox {
  constructor(
    private readonly table: TableClient,
    private readonly notify?: (registry: string, id: string) => Promise<void>,
  ) {}

  async append(event: OutboxEvent): Promise<void> {
    try {
      await this.table.createEntity<OutboxEntity>({
        partitionKey: event.registry,
        rowKey: event.id,
        type: event.type,
        time: event.time,
        delivery: 'pending',
        payload: JSON.stringify(event),
      });
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      // Already there — perhaps our own write whose answer was lost. Notifying again is harmless (dispatch is
      // idempotent by event id) and saves waiting for the relay; a dispatched row is simply skipped.
    }
    await this.notify?.(event.registry, event.id).catch(() => undefined);
  }

  async get(registry: string, id: string): Promise<Versioned<OutboxRow> | undefined> {
    try {
      const entity = await this.table.getEntity<OutboxEntity>(registry, id);
      return { value: fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Marks a row handled; false when someone else changed it first. */
  async mark(row: OutboxRow, etag: string, delivery: 'dispatched' | 'rejected'): Promise<boolean> {
    try {
      await this.table.updateEntity({ partitionKey: row.registry, rowKey: row.id, delivery }, 'Merge', { etag });
      return true;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return false;
      throw error;
    }
  }

  async *pending(): AsyncIterable<OutboxRow> {
    for await (const entity of this.table.listEntities<OutboxEntity>({
      queryOptions: { filter: odata`delivery eq ${'pending'}` },
    }))
      yield fromEntity(entity);
  }

  /** Deletes handled rows older than the cutoff; returns how many. */
  async prune(olderThan: Date): Promise<number> {
    let removed = 0;
    const filter = odata`delivery ne ${'pending'} and time lt ${olderThan.toISOString()}`;
    for await (const entity of this.table.listEntities<OutboxEntity>({
      queryOptions: { filter, select: ['PartitionKey', 'RowKey'] },
    })) {
      await this.table.deleteEntity(entity.partitionKey, entity.rowKey).catch(() => undefined);
      removed++;
    }
    return removed;
  }
}

function fromEntity(entity: OutboxEntity): OutboxRow {
  return {
    registry: entity.partitionKey,
    id: entity.rowKey,
    type: entity.type,
    time: entity.time,
    delivery: entity.delivery,
    payload: JSON.parse(entity.payload) as unknown,
  };
}
