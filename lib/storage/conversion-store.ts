import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import type { ConversionFilter, ConversionStore, InFlightEntry } from '../conversion/ports.js';
import { conversionKeys, inFlightStatuses, type ConversionRecord } from '../conversion/record.js';
import { repositoryKey, type ImageKey, type Versioned } from '../core/image.js';
import { pageSettings } from './paging.js';
import { isStatus } from './table-errors.js';

type Entity = Omit<ConversionRecord, 'tags'> & { partitionKey: string; rowKey: string; tags: string };

/**
 * The in-flight index: one entry per row that is, or was recently, `Pending` or `Running`, in a partition of its own
 * (registry names are alphanumeric, so no registry's partition can be called this). The sweeper reads this one
 * partition instead of scanning every registry's rows.
 */
export const inFlightPartition = '~inflight';
/** The entry saying the index was built from the rows once (rows written before the index existed). */
const builtMarker = '~built';
/** An entry this old whose row is no longer in flight is stale even when the row's clock looks behind. */
const staleEntryMs = 10 * 60_000;

/** An index entry: the row's own properties as indexed, under the index's keys, with the row's keys. */
type IndexEntry = Entity & { readonly indexedPartitionKey: string; readonly indexedRowKey: string };

/**
 * Conversion rows in Azure Table Storage (see docs/architecture.md for the keys), with the in-flight index.
 *
 * The index is a superset of the rows in flight: a write that brings a row into flight (a create in flight, a
 * replace that says `entersFlight`: a claim) upserts the row's entry first, then writes the row, so no row is ever
 * in flight without an entry (a row write that then loses leaves an entry too many, which is harmless). Writes
 * between in-flight states (reservation, Running, polls, retries) leave the entry as the claim wrote it: one Table
 * request per conversion, not per poll. Nothing on the write path deletes entries: an unconditional delete there
 * would race with another worker claiming the row again. Entries are released by the sweeper, conditionally.
 */
export class TableConversionStore implements ConversionStore {
  /** Once the marker is seen, this instance does not ask again. */
  private indexBuilt = false;

  constructor(
    private readonly table: TableClient,
    private readonly now: () => number = Date.now,
  ) {}

  async read(key: ImageKey): Promise<Versioned<ConversionRecord> | undefined> {
    const { partitionKey, rowKey } = conversionKeys(key);
    return this.readRow(partitionKey, rowKey);
  }

  async create(record: ConversionRecord): Promise<string | undefined> {
    await this.index(record);
    try {
      return (await this.table.createEntity(toEntity(record))).etag;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      throw error;
    }
  }

  async replace(
    record: ConversionRecord,
    etag: string,
    options: { readonly entersFlight?: boolean } = {},
  ): Promise<string | undefined> {
    if (options.entersFlight === true) await this.index(record);
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

  /**
   * The index partition, page by page: one query for all the work in flight, whatever the table's size. Each entry
   * carries the row as its last in-flight write left it, so the sweeper decides from it and reads only the rows it
   * would act on.
   */
  async *listInFlight(): AsyncIterable<InFlightEntry> {
    await this.buildIndexOnce();
    const entries = this.table.listEntities<IndexEntry>({
      queryOptions: { filter: odata`PartitionKey eq ${inFlightPartition} and RowKey ne ${builtMarker}` },
    });
    for await (const entry of entries) {
      const indexed = fromEntity({ ...entry, partitionKey: entry.indexedPartitionKey, rowKey: entry.indexedRowKey });
      yield { indexed, release: (row) => this.release(entry, indexed, row) };
    }
  }

  /**
   * Drops an entry on its ETag (a re-index meanwhile keeps it) once the row is gone or finished after the entry was
   * written; an entry newer than the row is a worker between its two writes, unless it is older than any such worker.
   * The two `updatedAt`s may come from different instances' clocks: a skew larger than the moment between a claim's
   * two writes could release the entry of a claim in progress; that row is then not re-driven if its messages are
   * lost, until its next claim indexes it again.
   */
  private async release(
    entry: TableEntityResult<IndexEntry>,
    indexed: ConversionRecord,
    row: ConversionRecord | undefined,
  ) {
    if (row !== undefined && inFlightStatuses.has(row.status)) return;
    const entryAge = this.now() - Date.parse(indexed.updatedAt);
    if (row !== undefined && row.updatedAt < indexed.updatedAt && entryAge <= staleEntryMs) return;
    await this.table.deleteEntity(inFlightPartition, entry.rowKey, { etag: entry.etag }).catch((error: unknown) => {
      if (!isStatus(error, 404) && !isStatus(error, 412)) throw error;
    });
  }

  /** Before a write that makes the row in flight: its index entry (an upsert, so repeating it is harmless). */
  private async index(record: ConversionRecord): Promise<void> {
    if (!inFlightStatuses.has(record.status)) return;
    const row = toEntity(record);
    const entry: IndexEntry = {
      ...row,
      partitionKey: inFlightPartition,
      rowKey: `${row.partitionKey}|${row.rowKey}`,
      indexedPartitionKey: row.partitionKey,
      indexedRowKey: row.rowKey,
    };
    await this.table.upsertEntity(entry, 'Replace');
  }

  /**
   * Rows written before the index existed (an upgrade with conversions in flight) get their entries from one scan
   * of the table, the old way, the first time the sweeper runs; a marker entry records that it was done.
   */
  private async buildIndexOnce(): Promise<void> {
    if (this.indexBuilt) return;
    try {
      await this.table.getEntity(inFlightPartition, builtMarker);
      this.indexBuilt = true;
      return;
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    const inFlight = this.table.listEntities<Entity>({
      queryOptions: {
        filter: odata`PartitionKey ne ${inFlightPartition} and (status eq ${'Pending'} or status eq ${'Running'})`,
      },
    });
    for await (const entity of inFlight) await this.index(fromEntity(entity));
    await this.table.upsertEntity({ partitionKey: inFlightPartition, rowKey: builtMarker }, 'Replace');
    this.indexBuilt = true;
  }

  private async readRow(partitionKey: string, rowKey: string): Promise<Versioned<ConversionRecord> | undefined> {
    try {
      const entity = await this.table.getEntity<Entity>(partitionKey, rowKey);
      return { value: fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
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
    Object.entries(rest).filter(
      ([name]) => name !== 'etag' && name !== 'timestamp' && !name.startsWith('odata') && !name.startsWith('indexed'),
    ),
  ) as Omit<ConversionRecord, 'tags'>;
  return { ...clean, tags: JSON.parse(tags) as string[] };
}
