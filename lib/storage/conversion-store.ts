import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import type { ConversionFilter, ConversionStore } from '../conversion/ports.js';
import { conversionKeys, type ConversionRecord } from '../conversion/record.js';
import { repositoryKey, type ImageKey, type Versioned } from '../core/image.js';
import { pageSettings } from './paging.js';
import { isStatus } from './table-errors.js';

type Entity = Omit<ConversionRecord, 'tags'> & { partitionKey: string; rowKey: string; tags: string };

/** Conversion rows in Azure Table Storage (see docs/architecture.md for the keys). */
export class TableConversionStore implements ConversionStore {
  constructor(private readonly table: TableClient) {}

  async read(key: ImageKey): Promise<Versioned<ConversionRecord> | undefined> {
    const { partitionKey, rowKey } = conversionKeys(key);
    try {
      const entity = await this.table.getEntity<Entity>(partitionKey, rowKey);
      return { value: fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async create(record: ConversionRecord): Promise<string | undefined> {
    try {
      return (await this.table.createEntity(toEntity(record))).etag;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      throw error;
    }
  }

  async replace(record: ConversionRecord, etag: string): Promise<string | undefined> {
    try {
      return (await this.table.updateEntity(toEntity(record), 'Replace', { etag })).etag;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async list(registry: string, filter: ConversionFilter, page: { continuationToken?: string; pageSize: number }) {
    const clauses = [odata`PartitionKey eq ${registry}`];
    if (filter.repository !== undefined) {
      const prefix = `${repositoryKey(filter.repository)}@`;
      clauses.push(odata`RowKey ge ${prefix} and RowKey lt ${`${prefix.slice(0, -1)}A`}`);
    }
    if (filter.status !== undefined) clauses.push(odata`status eq ${filter.status}`);
    if (filter.since !== undefined) clauses.push(odata`updatedAt ge ${filter.since.toISOString()}`);
    const pages = this.table
      .listEntities<Entity>({ queryOptions: { filter: clauses.join(' and ') } })
      .byPage(pageSettings(page));
    const result = await pages.next();
    if (result.done === true) return { items: [] };
    const items = result.value.map(fromEntity);
    return result.value.continuationToken ? { items, continuationToken: result.value.continuationToken } : { items };
  }

  async *listInFlight(): AsyncIterable<Versioned<ConversionRecord>> {
    const entities = this.table.listEntities<Entity>({
      queryOptions: { filter: odata`status eq ${'Pending'} or status eq ${'Running'}` },
    });
    for await (const entity of entities) yield { value: fromEntity(entity), etag: entity.etag };
  }
}

function toEntity(record: ConversionRecord): Entity {
  const defined = Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== undefined),
  ) as unknown as ConversionRecord;
  return { ...defined, ...conversionKeys(record), tags: JSON.stringify(record.tags) };
}

function fromEntity(entity: TableEntityResult<Entity> | Entity): ConversionRecord {
  const {
    partitionKey: _pk,
    rowKey: _rk,
    tags,
    ...rest
  } = entity as Entity & { etag?: string; timestamp?: string; 'odata.metadata'?: string };
  const clean = Object.fromEntries(
    Object.entries(rest).filter(([name]) => name !== 'etag' && name !== 'timestamp' && !name.startsWith('odata')),
  ) as Omit<ConversionRecord, 'tags'>;
  return { ...clean, tags: JSON.parse(tags) as string[] };
}
