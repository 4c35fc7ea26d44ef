/** Public types of the Event Grid emulation (engine options, views, the delivery log). */
import type { Agent } from 'node:https';
import type { EmulatorClock, EventSink, RegistryDefinition } from '../contract.js';
import type { DeadLetterRecord } from './dead-letter.js';
import type { EventGridEvent } from './events.js';
import type { SubscriptionSpec, SubscriptionSpecInput } from './subscription.js';
import type { Timeline } from './timeline.js';

export interface EventGridLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface EventGridEngineOptions {
  /** Live view of the emulator's registries (topic, location and login server come from here). */
  readonly registries: () => readonly RegistryDefinition[];
  /** Timestamps (eventTime, publishTime, …) read the emulator clock. */
  readonly clock: EmulatorClock;
  /** Where retry delays/TTL/dead-letter delay run; default `scaledTimeline(timeScale)`. */
  readonly timeline?: Timeline;
  /** Multiplies every Event Grid delay when no timeline is given (0.001: 10 s → 10 ms). Default 1. */
  readonly timeScale?: number;
  /** Real milliseconds to wait for a webhook response; Event Grid waits 30 s. */
  readonly deliveryTimeoutMs?: number;
  /** For https endpoints signed by the emulator CA: an agent trusting it, or the CA PEM itself. */
  readonly httpsAgent?: Agent;
  readonly ca?: string | Buffer;
  /** Seed for at-least-once chaos; also settable per `setAtLeastOnce`. */
  readonly seed?: number;
  /** Base URL (control listener) used in validationUrl for manual validation. */
  readonly validationBaseUrl?: string;
  /** Event Grid writes dead letters about 5 minutes after giving up; in Event Grid time. */
  readonly deadLetterDelayMs?: number;
  /** `aeg-delivery-count` of the first attempt. Default 1 (second attempt → 2). */
  readonly deliveryCountBase?: 0 | 1;
  /** Deliveries in flight per subscription at once (default 1: one at a time, reproducible order). */
  readonly deliveryConcurrency?: number;
  readonly logger?: EventGridLogger;
}

export interface AtLeastOnceSettings {
  readonly enabled: boolean;
  /** Chance that a successful delivery is delivered again (same event id). */
  readonly duplicateProbability: number;
  /** Deliver queued events in seeded random order instead of FIFO. */
  readonly reorder: boolean;
  readonly seed: number;
}

export type ProvisioningState = 'Succeeded' | 'AwaitingManualAction' | 'Failed';

export interface SubscriptionView {
  readonly spec: SubscriptionSpec;
  readonly provisioningState: ProvisioningState;
  readonly createdAt: string;
  readonly topic: string;
  readonly validationError?: string;
}

export interface DeliveryLogEntry {
  readonly sequence: number;
  readonly subscription: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly subject: string;
  /** The `aeg-delivery-count` sent. */
  readonly deliveryCount: number;
  readonly duplicate: boolean;
  readonly time: string;
  readonly status?: number;
  readonly outcome: string;
  readonly durationMs: number;
  /** What the engine did next. */
  readonly next: 'done' | 'retry' | 'dead-letter' | 'drop';
  readonly retryInMs?: number;
}

export interface EventGridEngine extends EventSink {
  /**
   * Validates the spec, runs the handshake; resolves with the resulting state (never rejects on a failed handshake).
   */
  createSubscription(input: SubscriptionSpecInput): Promise<SubscriptionView>;
  deleteSubscription(name: string): boolean;
  getSubscription(name: string): SubscriptionView | undefined;
  listSubscriptions(): SubscriptionView[];
  /** The `validationUrl` path: activates a subscription awaiting manual validation. */
  validateManually(name: string, code: string): boolean;
  setAtLeastOnce(settings: Partial<AtLeastOnceSettings> & { readonly enabled: boolean }): AtLeastOnceSettings;
  atLeastOnce(): AtLeastOnceSettings;
  /** Resolves once every published event reached a final state (delivered, dead-lettered or dropped). */
  whenIdle(): Promise<void>;
  deliveryLog(): readonly DeliveryLogEntry[];
  /** Called after every delivery attempt is logged (and its retry scheduled); returns an unsubscribe function. */
  onDelivery(listener: (entry: DeliveryLogEntry) => void): () => void;
  deadLetters(): readonly DeadLetterRecord[];
  publishedEvents(): readonly EventGridEvent[];
  /** Cancels timers and drops pending work (tests, shutdown). */
  close(): void;
}
