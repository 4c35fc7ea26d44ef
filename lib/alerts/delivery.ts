import { createHash } from 'node:crypto';
import type { AlertEvent } from './events.js';

/**
 * `sending`: a worker claimed the delivery (conditional write) and is making the HTTP call until `leaseUntil`; no
 * other worker sends it meanwhile, and the relay takes it back only once the lease has run out (a crashed sender).
 */
export const deliveryStatuses = [
  'pending',
  'sending',
  'delivered',
  'failed',
  'suppressed',
  'summarized',
  'dry-run',
] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** One alert to one channel. The id is deterministic, so dispatching an event twice creates it once. */
export interface Delivery {
  /** `{channel}.{key}`: the public id (`webhook-id`, `/api/alerts/{id}`). */
  readonly id: string;
  readonly channel: string;
  readonly key: string;
  readonly kind: 'event' | 'summary';
  readonly registry: string;
  readonly type: string;
  readonly severity: string;
  readonly status: DeliveryStatus;
  /** Why it was suppressed, summarized or failed — channel names and HTTP statuses only, never URLs. */
  readonly note?: string;
  readonly attempts: number;
  readonly lastStatus?: number;
  readonly nextAttemptAt?: string;
  readonly token?: string;
  /** While `sending`: until when the claiming worker owns the HTTP call. */
  readonly leaseUntil?: string;
  /**
   * While `sending`: the claim's own id, so a worker whose claim write lost its answer recognises the claim as its
   * own, and never another worker's identical-looking claim (same message, same millisecond).
   */
  readonly claimId?: string;
  readonly deliveredAt?: string;
  /** Who last asked for it to be sent again (`POST /api/alerts/{id}/resend`): the caller's object id. */
  readonly resentBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The event (kind `event`) or the burst window's row key (kind `summary`). */
  readonly event?: AlertEvent;
  readonly window?: string;
}

/** Events of one type from one registry inside one burst window, per channel. */
export interface BurstWindow {
  readonly count: number;
  readonly events: AlertEvent[];
  readonly omitted: number;
  readonly summaryKey?: string;
}

/** Deterministic key of a delivery, dedup mark or summary: the same parts always give the same 32 hex digits. */
export function deliveryKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}
