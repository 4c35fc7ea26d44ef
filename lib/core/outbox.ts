import type { ConversionStatus } from './image.js';

/*
 * The outbox's vocabulary, shared by the domains that record outcomes (conversion, policy, audit, reports) and the
 * one that delivers them (alerts): every event type, and the port an outcome is appended through. The Table
 * adapter is lib/storage/outbox.ts.
 */

export const domainEventTypes = [
  'conversion.succeeded',
  'conversion.failed',
  'conversion.timedOut',
  'conversion.canceled',
] as const;
export type DomainEventType = (typeof domainEventTypes)[number];

/** What happened to an image, for alert delivery (the outbox) — never carries secrets. */
export interface DomainEvent {
  /** Deterministic, so recording the same outcome twice stores one event. */
  readonly id: string;
  readonly type: DomainEventType;
  readonly time: string;
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
  readonly tag?: string;
  readonly operationId?: string;
  readonly status: ConversionStatus;
  readonly errorCode?: string;
  readonly message?: string;
  readonly remediation?: string;
  readonly attempts: number;
  /** The conversion run (ConversionRecord.generation) the outcome belongs to. */
  readonly generation?: string;
}

/**
 * A repository's ACR switch (`convertPushedImages`) disagreed with what its governing policy says (on under
 * `native`, off otherwise): an episode found (repaired at once, or ACR refused) or closed (ACR agrees again).
 * lib/policy/drift.ts raises it; for alert delivery like {@link DomainEvent}.
 */
export interface PolicyDriftEvent {
  /** Deterministic for one episode's transition, so whoever finds it, however often, stores one event. */
  readonly id: string;
  readonly type: 'policy.drift';
  readonly severity: 'warning' | 'error';
  readonly time: string;
  readonly registry: string;
  readonly repository: string;
  /** The policy scope that governs the repository. */
  readonly scope: string;
  /** What the policy wants ACR's `convertPushedImages` to be, and what ACR reports. */
  readonly expected: boolean;
  readonly actual: boolean;
  /** The episode and transition: alerts of different transitions are never deduplicated as one. */
  readonly generation: string;
  readonly message: string;
  readonly remediation?: string;
  readonly facts: Readonly<Record<string, string>>;
}

/** Audits' and reports' events: about a registry (or a connected registry, or a cluster), with facts to show. */
export interface NoticeEvent {
  /** Deterministic (from the run or the transition), so recording it twice stores one event. */
  readonly id: string;
  readonly type:
    | 'audit.missingStreamingArtifacts'
    | 'connectedRegistry.stale'
    | 'connectedRegistry.unhealthy'
    | 'connectedRegistry.recovered'
    | 'consumer.cannotStream'
    | 'consumer.pullLost'
    | 'consumer.recovered'
    | 'report.ready';
  readonly time: string;
  readonly registry: string;
  readonly message: string;
  readonly remediation?: string;
  readonly facts?: Readonly<Record<string, string>>;
}

/** Everything the outbox carries. */
export type OutboxEvent = DomainEvent | PolicyDriftEvent | NoticeEvent;

export interface Outbox {
  /** Idempotent by `event.id`. */
  append(event: OutboxEvent): Promise<void>;
}

/** An outbox event as stored, with where its alert dispatch stands. */
export interface OutboxRow {
  readonly registry: string;
  readonly id: string;
  readonly type: string;
  readonly time: string;
  readonly delivery: 'pending' | 'dispatched' | 'rejected';
  readonly payload: unknown;
}
