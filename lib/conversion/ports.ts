import { z } from 'zod';
import type { RegistryClient } from '../registry/client.js';
import type { ConversionRecord, ConversionStatus, ImageKey, Versioned } from './record.js';

/** Conversion rows; every write is conditional so concurrent workers cannot overwrite each other. */
export interface ConversionStore {
  read(key: ImageKey): Promise<Versioned<ConversionRecord> | undefined>;
  /** Inserts; resolves undefined when the row already exists. */
  create(record: ConversionRecord): Promise<string | undefined>;
  /** Replaces when the ETag still matches; resolves undefined when someone else wrote (412) or it is gone. */
  replace(record: ConversionRecord, etag: string): Promise<string | undefined>;
  list(
    registry: string,
    filter: ConversionFilter,
    page: { continuationToken?: string; pageSize: number },
  ): Promise<{ items: ConversionRecord[]; continuationToken?: string }>;
  /** Pending and Running rows of every registry, for the sweeper. */
  listInFlight(): AsyncIterable<Versioned<ConversionRecord>>;
}

export interface ConversionFilter {
  readonly repository?: string;
  readonly status?: ConversionStatus;
  /** Only rows updated at or after this instant. */
  readonly since?: Date;
}

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
}

/**
 * A repository's ACR switch (`convertPushedImages`) disagrees with what its `mode: native` policy set (issue #5):
 * ACR refused the change or reports another value when read back. For alert delivery like {@link DomainEvent}.
 */
export interface PolicyDriftEvent {
  /** Deterministic for one change and repository, so applying the same change again stores one event. */
  readonly id: string;
  readonly type: 'policy.drift';
  readonly time: string;
  readonly registry: string;
  readonly repository: string;
  /** The policy scope that set the switch. */
  readonly scope: string;
  /** What the policy wants ACR's `convertPushedImages` to be, and what ACR reports. */
  readonly expected: boolean;
  readonly actual: boolean;
  readonly message: string;
}

/** Audits' and reports' events: about a registry (or a connected registry), with facts to show. */
export interface NoticeEvent {
  /** Deterministic (from the run or the transition), so recording it twice stores one event. */
  readonly id: string;
  readonly type:
    | 'audit.missingStreamingArtifacts'
    | 'connectedRegistry.stale'
    | 'connectedRegistry.unhealthy'
    | 'connectedRegistry.recovered'
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

/**
 * Text that can become (part of) a Table key: no `/`, `\`, `#`, `?` or control characters. Queue message fields
 * that are turned into keys must pass it, so a junk message is rejected and ACKed instead of making the storage
 * call fail on every delivery until the message lands in `-poison` (test/e2e/hostile-queues.test.ts).
 */
export function tableKeyText(min: number, max: number, options: { slash?: 'allowed' } = {}): z.ZodString {
  // Repository names keep their `/` in messages: keys replace it with `:` (repositoryKey).
  const pattern = options.slash === 'allowed' ? /^[^\\#?\p{Cc}]*$/u : /^[^/\\#?\p{Cc}]*$/u;
  return z
    .string()
    .min(min)
    .max(max)
    .regex(pattern, `must not contain ${options.slash === 'allowed' ? '' : '/ '}\\ # ? or control characters`);
}

export const trackingMessageSchema = z
  .object({
    kind: z.enum(['start', 'poll']),
    registry: tableKeyText(1, 50),
    repository: tableKeyText(1, 255, { slash: 'allowed' }),
    digest: tableKeyText(1, 200),
    token: z.string().min(1).max(64),
  })
  .strict();
export type TrackingMessage = z.infer<typeof trackingMessageSchema>;

export interface TrackingQueue {
  send(message: TrackingMessage, delaySeconds: number): Promise<void>;
}

/** The registry calls the pipeline makes (RegistryClient implements them; tests may pass a fake). */
export type RegistryGateway = Pick<
  RegistryClient,
  | 'getManifest'
  | 'getManifestAttributes'
  | 'listReferrers'
  | 'getStreamingOperation'
  | 'startStreamingConversion'
  | 'getOperation'
  | 'cancelOperation'
  | 'resolveTag'
>;

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
