import type { TableClient } from '@azure/data-tables';
import type { ThrottleRecord, ThrottleRecordStore } from '../registry/throttle.js';
import { isStatus, writeConditionally } from './table-errors.js';

interface ThrottleEntity {
  readonly partitionKey: string;
  readonly rowKey: string;
  /** Epoch ms; a number, not a Date, so the comparison is the same on every instance and in Azurite. */
  readonly until: number;
}

/**
 * One entity per registry (PK = registry name, RK empty): a point read and an insert-if-absent or ETag replace, the
 * cheapest operations Table Storage has.
 */
export class TableThrottleStore implements ThrottleRecordStore {
  constructor(private readonly table: TableClient) {}

  async read(registry: string): Promise<ThrottleRecord | undefined> {
    try {
      const entity = await this.table.getEntity<ThrottleEntity>(registry, '');
      return { until: Number(entity.until), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  write(registry: string, until: number, etag: string | undefined): Promise<boolean> {
    // A Double, not Int32: epoch ms do not fit in 32 bits (the SDK would otherwise pick by value).
    const entity = { partitionKey: registry, rowKey: '', until: { value: String(until), type: 'Double' as const } };
    return writeConditionally(this.table, entity, etag);
  }
}
