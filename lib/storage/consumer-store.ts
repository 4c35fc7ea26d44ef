import { odata, type TableClient } from '@azure/data-tables';
import type { Versioned } from '../core/image.js';
import { consumerKey, type ConsumerState, type ConsumerStore } from '../consumers/ports.js';
import { isStatus, writeConditionally } from './table-errors.js';

/**
 * Consumer states in `{prefix}Consumers`: PK the registry name, RK the cluster's resource ID as {@link consumerKey}
 * writes it (lower case, `/` → `:`; Table keys may not hold `/`, `\`, `#`, `?` or control characters: Microsoft
 * Learn, "Understanding the Table service data model", Characters disallowed in key fields). A registry's clusters are
 * one small partition, read whole by each audit run.
 */
export class TableConsumerStore implements ConsumerStore {
  constructor(private readonly table: TableClient) {}

  async states(registry: string): Promise<Map<string, Versioned<ConsumerState>>> {
    const states = new Map<string, Versioned<ConsumerState>>();
    for await (const entity of this.table.listEntities<{ state: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${registry}` },
    }))
      states.set(entity.rowKey ?? '', { value: JSON.parse(entity.state) as ConsumerState, etag: entity.etag });
    return states;
  }

  async state(registry: string, clusterId: string): Promise<Versioned<ConsumerState> | undefined> {
    try {
      const entity = await this.table.getEntity<{ state: string }>(registry, consumerKey(clusterId));
      return { value: JSON.parse(entity.state) as ConsumerState, etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Creates (no ETag) or replaces (on its ETag); false when another instance wrote first. */
  async save(state: ConsumerState, etag: string | undefined): Promise<boolean> {
    return writeConditionally(
      this.table,
      {
        partitionKey: state.registry,
        rowKey: consumerKey(state.clusterId),
        // Columns an operator can filter on in Storage Explorer; the record itself is the JSON.
        clusterName: state.clusterName,
        pull: state.pull,
        state: JSON.stringify(state),
      },
      etag,
    );
  }

  async remove(registry: string, clusterId: string, etag: string): Promise<boolean> {
    try {
      await this.table.deleteEntity(registry, consumerKey(clusterId), { etag });
      return true;
    } catch (error) {
      if (isStatus(error, 404) || isStatus(error, 412)) return false;
      throw error;
    }
  }
}
