import type { ConversionFilter, ConversionStore, InFlightEntry } from '../../../lib/conversion/ports.js';
import { conversionKeys, inFlightStatuses, type ConversionRecord } from '../../../lib/conversion/record.js';
import { type ImageKey, type Versioned } from '../../../lib/core/image.js';

interface Row {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly record: ConversionRecord;
  readonly etag: string;
}

/**
 * ConversionStore in memory with the Table adapter's semantics: create resolves undefined when the row exists,
 * replace resolves undefined on a stale ETag or a missing row, undefined fields are not stored, rows are listed
 * in (PartitionKey, RowKey) order, and every call yields once so concurrent callers interleave.
 */
export class InMemoryConversionStore implements ConversionStore {
  private readonly rows = new Map<string, Row>();
  private version = 0;
  private readonly interferences: Array<() => void> = [];

  /**
   * Runs `write` just before the next create or replace checks its ETag, as another worker's write landing first
   * would: the caller's conditional write then fails and it must look again.
   */
  interfereBeforeNextWrite(write: () => void): void {
    this.interferences.push(write);
  }

  async read(key: ImageKey): Promise<Versioned<ConversionRecord> | undefined> {
    await tick();
    const row = this.rows.get(id(key));
    return row && { value: copy(row.record), etag: row.etag };
  }

  async create(record: ConversionRecord): Promise<string | undefined> {
    await tick();
    this.interferences.shift()?.();
    if (this.rows.has(id(record))) return undefined;
    return this.put(record);
  }

  async replace(record: ConversionRecord, etag: string): Promise<string | undefined> {
    await tick();
    this.interferences.shift()?.();
    const row = this.rows.get(id(record));
    if (row === undefined || row.etag !== etag) return undefined;
    return this.put(record);
  }

  async list(
    registry: string,
    filter: ConversionFilter,
    page: { continuationToken?: string; pageSize: number },
  ): Promise<{ items: ConversionRecord[]; continuationToken?: string }> {
    await tick();
    const matching = this.sorted()
      .filter((row) => row.partitionKey === registry)
      .filter((row) => filter.repository === undefined || row.record.repository === filter.repository)
      .filter((row) => filter.status === undefined || row.record.status === filter.status)
      .filter((row) => filter.since === undefined || row.record.updatedAt >= filter.since.toISOString());
    const start = page.continuationToken === undefined ? 0 : Number(page.continuationToken);
    const items = matching.slice(start, start + page.pageSize).map((row) => copy(row.record));
    const next = start + page.pageSize;
    return next < matching.length ? { items, continuationToken: String(next) } : { items };
  }

  /** An exact index: the rows in flight now, as they are (nothing to release). */
  async *listInFlight(): AsyncIterable<InFlightEntry> {
    for (const row of this.sorted()) {
      await tick();
      if (inFlightStatuses.has(row.record.status)) yield { indexed: copy(row.record), release: () => tick() };
    }
  }

  /** Seeds a row directly (test preparation); returns its ETag. */
  seed(record: ConversionRecord): string {
    return this.put(record);
  }

  /** The stored record, synchronously, for assertions. */
  get(key: ImageKey): ConversionRecord | undefined {
    const row = this.rows.get(id(key));
    return row && copy(row.record);
  }

  get size(): number {
    return this.rows.size;
  }

  private put(record: ConversionRecord): string {
    const etag = `W/"${++this.version}"`;
    this.rows.set(id(record), { ...conversionKeys(record), record: copy(record), etag });
    return etag;
  }

  private sorted(): Row[] {
    return [...this.rows.values()].sort(
      (a, b) => compare(a.partitionKey, b.partitionKey) || compare(a.rowKey, b.rowKey),
    );
  }
}

function id(key: ImageKey): string {
  const { partitionKey, rowKey } = conversionKeys(key);
  return `${partitionKey}\n${rowKey}`;
}

/** Like the Table adapter: undefined properties are not stored, and nothing is shared with the caller. */
function copy(record: ConversionRecord): ConversionRecord {
  return structuredClone(
    Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)),
  ) as unknown as ConversionRecord;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function tick(): Promise<void> {
  return Promise.resolve();
}
