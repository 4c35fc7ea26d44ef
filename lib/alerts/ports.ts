import type { Versioned } from '../core/image.js';
import type { OutboxRow } from '../core/outbox.js';
import type { BurstWindow, Delivery, DeliveryStatus } from './delivery.js';
import type { AlertEvent } from './events.js';
import type { AlertMessage } from './service.js';

/** The outbox as alert dispatch reads it (lib/storage/outbox.ts implements it). */
export interface AlertOutbox {
  get(registry: string, id: string): Promise<Versioned<OutboxRow> | undefined>;
  /** ETag-conditional; false when another worker changed the row first. */
  mark(row: OutboxRow, etag: string, delivery: 'dispatched' | 'rejected'): Promise<boolean>;
  /** Rows whose dispatch has not happened yet (a lost notification), for the relay. */
  pending(): AsyncIterable<OutboxRow>;
  /** Deletes handled rows older than the instant; returns how many. */
  prune(olderThan: Date): Promise<number>;
}

/**
 * Deliveries, dedup marks and burst windows (lib/storage/alert-store.ts implements it). Every write is
 * conditional: create answers undefined when the row exists, replace when its ETag no longer matches.
 */
export interface AlertStore {
  createDelivery(delivery: Delivery): Promise<string | undefined>;
  getDelivery(channel: string, key: string): Promise<Versioned<Delivery> | undefined>;
  replaceDelivery(delivery: Delivery, etag: string): Promise<string | undefined>;
  listDeliveries(
    filter: { status?: DeliveryStatus; channel?: string },
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: Delivery[]; continuationToken?: string }>;
  /** Deliveries not settled yet: `pending`, and `sending` (a claim, live or lapsed). */
  unsettledDeliveries(): AsyncIterable<Versioned<Delivery>>;
  /**
   * Records that an event with this identity was sent now; answers whether one was already sent inside the window
   * (then nothing is written).
   */
  seenRecently(channel: string, identity: string, nowMs: number, windowMs: number): Promise<boolean>;
  /** Adds an event to a burst window and returns the window as it is now. */
  addToWindow(channel: string, window: string, event: AlertEvent): Promise<BurstWindow>;
  getWindow(channel: string, window: string): Promise<BurstWindow | undefined>;
}

/** `{prefix}-alerts` (lib/storage/alert-queue.ts implements it). */
export interface AlertQueue {
  send(message: AlertMessage, delaySeconds: number): Promise<void>;
}
