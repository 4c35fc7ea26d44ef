import { odata, type TableClient } from '@azure/data-tables';
import type { Versioned } from '../core/image.js';
import { pageSettings } from './paging.js';
import { isStatus, writeConditionally } from './table-errors.js';
import type { AlertEvent } from '../alerts/events.js';
import { deliveryKey, type BurstWindow, type Delivery, type DeliveryStatus } from '../alerts/delivery.js';
import type { AlertStore } from '../alerts/ports.js';

type DeliveryEntity = Omit<Delivery, 'event'> & { partitionKey: string; rowKey: string; event?: string };

/**
 * Events a burst window keeps for its summary (slimmed: a table property holds 64 KB); the rest are counted, and
 * every one stays listed as a `summarized` delivery by GET /api/alerts.
 */
const maxWindowEvents = 50;

/**
 * Alert state in one table: deliveries (PK `d:{channel}`), dedup marks (PK `dedup:{channel}`) and burst windows
 * (PK `burst:{channel}`). Every write is conditional: insert-if-absent or ETag replace.
 */
export class TableAlertStore implements AlertStore {
  constructor(private readonly table: TableClient) {}

  async createDelivery(delivery: Delivery): Promise<string | undefined> {
    try {
      return (await this.table.createEntity(toEntity(delivery))).etag;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      throw error;
    }
  }

  async getDelivery(channel: string, key: string): Promise<Versioned<Delivery> | undefined> {
    try {
      const entity = await this.table.getEntity<DeliveryEntity>(`d:${channel}`, key);
      return { value: fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async replaceDelivery(delivery: Delivery, etag: string): Promise<string | undefined> {
    try {
      return (await this.table.updateEntity(toEntity(delivery), 'Replace', { etag })).etag;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async listDeliveries(
    filter: { status?: DeliveryStatus; channel?: string },
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: Delivery[]; continuationToken?: string }> {
    const clauses = [
      filter.channel
        ? odata`PartitionKey eq ${`d:${filter.channel}`}`
        : odata`PartitionKey ge ${'d:'} and PartitionKey lt ${'d;'}`,
    ];
    if (filter.status) clauses.push(odata`status eq ${filter.status}`);
    const pages = this.table
      .listEntities<DeliveryEntity>({ queryOptions: { filter: clauses.join(' and ') } })
      .byPage(pageSettings(page));
    const result = await pages.next();
    if (result.done === true) return { items: [] };
    const items = result.value.map(fromEntity);
    return result.value.continuationToken ? { items, continuationToken: result.value.continuationToken } : { items };
  }

  async *unsettledDeliveries(): AsyncIterable<Versioned<Delivery>> {
    for await (const entity of this.table.listEntities<DeliveryEntity>({
      queryOptions: { filter: odata`status eq ${'pending'} or status eq ${'sending'}` },
    }))
      yield { value: fromEntity(entity), etag: entity.etag };
  }

  /**
   * Records that an event with this identity was sent now; answers whether one was already sent inside the window
   * (then nothing is written). Two instances racing may both send: a rare duplicate beats a lost alert.
   */
  async seenRecently(channel: string, identity: string, nowMs: number, windowMs: number): Promise<boolean> {
    const key = deliveryKey(identity);
    let existing: { lastAt: string; etag: string } | undefined;
    try {
      const entity = await this.table.getEntity<{ lastAt: string }>(`dedup:${channel}`, key);
      existing = { lastAt: entity.lastAt, etag: entity.etag };
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    if (existing && nowMs - Date.parse(existing.lastAt) < windowMs) return true;
    await this.table.upsertEntity(
      { partitionKey: `dedup:${channel}`, rowKey: key, lastAt: new Date(nowMs).toISOString() },
      'Replace',
    );
    return false;
  }

  /** Adds an event to a burst window (ETag retry loop) and returns the window as it is now. */
  async addToWindow(channel: string, window: string, event: AlertEvent): Promise<BurstWindow> {
    for (;;) {
      let current: { value: BurstWindow; etag: string } | undefined;
      try {
        const entity = await this.table.getEntity<{
          count: number;
          events: string;
          omitted: number;
          summaryKey?: string;
        }>(`burst:${channel}`, window);
        current = {
          value: {
            count: entity.count,
            events: JSON.parse(entity.events) as AlertEvent[],
            omitted: entity.omitted,
            ...(entity.summaryKey ? { summaryKey: entity.summaryKey } : {}),
          },
          etag: entity.etag,
        };
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
      const events = current?.value.events ?? [];
      const keep = events.length < maxWindowEvents;
      const next: BurstWindow = {
        count: (current?.value.count ?? 0) + 1,
        events: keep ? [...events, slim(event, events.length === 0)] : events,
        omitted: (current?.value.omitted ?? 0) + (keep ? 0 : 1),
        ...(current?.value.summaryKey ? { summaryKey: current.value.summaryKey } : {}),
      };
      if (await this.writeWindow(channel, window, next, current?.etag)) return next;
    }
  }

  async getWindow(channel: string, window: string): Promise<BurstWindow | undefined> {
    try {
      const entity = await this.table.getEntity<{
        count: number;
        events: string;
        omitted: number;
        summaryKey?: string;
      }>(`burst:${channel}`, window);
      return {
        count: entity.count,
        events: JSON.parse(entity.events) as AlertEvent[],
        omitted: entity.omitted,
        ...(entity.summaryKey ? { summaryKey: entity.summaryKey } : {}),
      };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  private async writeWindow(
    channel: string,
    window: string,
    value: BurstWindow,
    etag: string | undefined,
  ): Promise<boolean> {
    const entity = {
      partitionKey: `burst:${channel}`,
      rowKey: window,
      count: value.count,
      events: JSON.stringify(value.events),
      omitted: value.omitted,
      ...(value.summaryKey ? { summaryKey: value.summaryKey } : {}),
    };
    return writeConditionally(this.table, entity, etag);
  }
}

/** What a summary needs of an event; the first keeps its remediation for the summary's "what to do". */
function slim(event: AlertEvent, keepRemediation: boolean): AlertEvent {
  return {
    id: event.id,
    type: event.type,
    severity: event.severity,
    time: event.time,
    registry: event.registry,
    message: '',
    ...(event.repository ? { repository: event.repository } : {}),
    ...(event.digest ? { digest: event.digest } : {}),
    ...(event.errorCode ? { errorCode: event.errorCode } : {}),
    ...(keepRemediation && event.remediation ? { remediation: event.remediation.slice(0, 1_000) } : {}),
  };
}

function toEntity(delivery: Delivery): DeliveryEntity {
  const { event, ...rest } = delivery;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Omit<
    Delivery,
    'event'
  >;
  return {
    ...defined,
    partitionKey: `d:${delivery.channel}`,
    rowKey: delivery.key,
    ...(event ? { event: JSON.stringify(event) } : {}),
  };
}

function fromEntity(entity: DeliveryEntity): Delivery {
  const {
    partitionKey: _pk,
    rowKey: _rk,
    event,
    ...rest
  } = entity as DeliveryEntity & { etag?: string; timestamp?: string };
  const clean = Object.fromEntries(
    Object.entries(rest).filter(([name]) => name !== 'etag' && name !== 'timestamp' && !name.startsWith('odata')),
  ) as Omit<Delivery, 'event'>;
  return { ...clean, ...(event ? { event: JSON.parse(event) as AlertEvent } : {}) };
}
