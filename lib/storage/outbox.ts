import type { TableClient } from '@azure/data-tables';
import type { Outbox, OutboxEvent } from '../conversion/ports.js';
import { isStatus } from './table-errors.js';

/**
 * The transactional outbox of domain events: a row per event, keyed by its deterministic id so recording the
 * same outcome twice (a redelivered message, a retried step) stores it once. The alert sender delivers them.
 */
export class TableOutbox implements Outbox {
  constructor(private readonly table: TableClient) {}

  async append(event: OutboxEvent): Promise<void> {
    try {
      await this.table.createEntity({
        partitionKey: event.registry,
        rowKey: event.id,
        type: event.type,
        time: event.time,
        delivery: 'pending',
        payload: JSON.stringify(event),
      });
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
    }
  }
}
