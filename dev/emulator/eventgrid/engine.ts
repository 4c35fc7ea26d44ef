/**
 * Event Grid delivery engine: the emulator's EventSink. Each ManifestEvent becomes one Event Grid event
 * (same id for every subscription), delivered per subscription as a one-element JSON array, with Event Grid's
 * validation handshake, retry schedule, retry policy, dead-lettering and an opt-in at-least-once mode
 * (duplicates + reordering from a seeded PRNG).
 *
 * Deliveries to one subscription are sent one at a time (a FIFO queue, or a seeded random pick when
 * reordering): this keeps the order reproducible in tests; real Event Grid is concurrent and unordered.
 */
import { randomUUID } from 'node:crypto';
import { registryResourceId, type ManifestEvent } from '../contract.js';
import { writeDeadLetter, type DeadLetterRecord } from './dead-letter.js';
import { azureTimestamp, toEventGridEvent, type EventGridEvent } from './events.js';
import { postJson, type PostResult } from './post.js';
import { seededRandom } from './random.js';
import { judge, outcomeName } from './retry.js';
import { subscriptionMatches, subscriptionSpecSchema, type SubscriptionSpec } from './subscription.js';
import { scaledTimeline } from './timeline.js';
import type {
  AtLeastOnceSettings,
  DeliveryLogEntry,
  EventGridEngine,
  EventGridEngineOptions,
  ProvisioningState,
  SubscriptionView,
} from './types.js';

interface Subscription {
  readonly spec: SubscriptionSpec;
  readonly createdAt: string;
  readonly topic: string;
  readonly validationCode: string;
  state: ProvisioningState;
  validationError?: string;
  readonly queue: Delivery[];
  /** Deliveries in flight to this subscription (at most the engine's deliveryConcurrency). */
  inFlight: number;
  deleted: boolean;
}

interface Delivery {
  readonly event: EventGridEvent;
  readonly subscription: Subscription;
  /** Event Grid time of publication (TTL origin). */
  readonly publishedAt: number;
  readonly publishTime: string;
  readonly duplicate: boolean;
  attempts: number;
  lastResult?: PostResult;
  lastAttemptTime?: string;
}

const SUBSCRIPTION_VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export function createEventGridEngine(options: EventGridEngineOptions): EventGridEngine {
  const timeline = options.timeline ?? scaledTimeline(options.timeScale ?? 1);
  const timeoutMs = options.deliveryTimeoutMs ?? 30_000;
  const deadLetterDelayMs = options.deadLetterDelayMs ?? 5 * 60_000;
  const countBase = options.deliveryCountBase ?? 1;
  // Real Event Grid delivers concurrently; 1 (the default) keeps test runs reproducible.
  const concurrency = Math.max(1, options.deliveryConcurrency ?? 1);
  const subscriptions = new Map<string, Subscription>();
  const log: DeliveryLogEntry[] = [];
  const deadLetters: DeadLetterRecord[] = [];
  const published: EventGridEvent[] = [];
  const timers = new Set<{ cancel(): void }>();
  const idleWaiters: (() => void)[] = [];
  const listeners = new Set<(entry: DeliveryLogEntry) => void>();
  let pending = 0;
  let closed = false;
  let staging: Delivery[] = [];
  let flushScheduled = false;
  let chaos: AtLeastOnceSettings = {
    enabled: false,
    duplicateProbability: 0.3,
    reorder: true,
    seed: options.seed ?? 1,
  };
  let random = seededRandom(chaos.seed);

  const key = (name: string): string => name.toLowerCase();
  const view = (s: Subscription): SubscriptionView => ({
    spec: s.spec,
    provisioningState: s.state,
    createdAt: s.createdAt,
    topic: s.topic,
    ...(s.validationError !== undefined ? { validationError: s.validationError } : {}),
  });

  const schedule = (callback: () => void, ms: number): void => {
    if (closed) return;
    const handle = timeline.schedule(() => {
      timers.delete(handle);
      callback();
    }, ms);
    timers.add(handle);
  };

  const settle = (): void => {
    if (pending === 0) return; // close() already released everything
    pending--;
    if (pending === 0) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const headersFor = (
    s: Subscription,
    eventType: 'Notification' | 'SubscriptionValidation',
    count: number,
    dataVersion: string,
  ): Record<string, string> => ({
    ...(s.spec.deliveryHeaders ?? {}),
    'content-type': 'application/json; charset=utf-8',
    'aeg-event-type': eventType,
    // Event Grid sends the subscription name upper-cased (it does the same in dead-letter blob paths).
    'aeg-subscription-name': s.spec.name.toUpperCase(),
    'aeg-delivery-count': String(count),
    'aeg-data-version': dataVersion,
    'aeg-metadata-version': '1',
  });

  const post = (url: string, body: string, headers: Record<string, string>): Promise<PostResult> =>
    postJson(url, body, { headers, timeoutMs, httpsAgent: options.httpsAgent, ca: options.ca });

  async function handshake(s: Subscription): Promise<void> {
    const now = options.clock.now();
    const validationUrl = `${options.validationBaseUrl ?? 'https://127.0.0.1'}/_emulator/eventgrid/subscriptions/${encodeURIComponent(s.spec.name)}/validate?id=${s.validationCode}&t=${encodeURIComponent(now.toISOString())}`;
    const event = {
      id: randomUUID(),
      topic: s.topic,
      subject: '',
      data: { validationCode: s.validationCode, validationUrl },
      eventType: SUBSCRIPTION_VALIDATION_EVENT,
      eventTime: azureTimestamp(now),
      metadataVersion: '1',
      dataVersion: '1',
    };
    const result = await post(
      s.spec.endpoint,
      JSON.stringify([event]),
      headersFor(s, 'SubscriptionValidation', countBase, '1'),
    );
    let echoed: unknown;
    try {
      echoed =
        'status' in result && result.body
          ? (JSON.parse(result.body) as { validationResponse?: unknown }).validationResponse
          : undefined;
    } catch {
      echoed = undefined;
    }
    // Only 200 counts (202 is rejected by Event Grid), and the body must echo the code.
    if ('status' in result && result.status === 200 && echoed === s.validationCode) {
      s.state = 'Succeeded';
      return;
    }
    const got = 'status' in result ? `response code ${result.status}` : `${result.failure} (${result.message})`;
    s.state = 'AwaitingManualAction';
    s.validationError = `Webhook validation handshake failed for ${new URL(s.spec.endpoint).origin}. Http POST request failed with ${got}${'status' in result && result.status === 200 ? ' without the expected validationResponse' : ''}. For troubleshooting, visit https://aka.ms/esvalidation.`;
    options.logger?.warn('eventgrid: subscription validation failed', { subscription: s.spec.name, result: got });
    // The validationUrl stays usable for 5 minutes, then the subscription fails.
    schedule(() => {
      if (s.state === 'AwaitingManualAction') s.state = 'Failed';
    }, 5 * 60_000);
  }

  function enqueue(d: Delivery): void {
    if (chaos.enabled && chaos.reorder) {
      // Collect everything published in this tick before the first pick, so same-tick bursts get reordered.
      staging.push(d);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(() => {
          flushScheduled = false;
          const batch = staging;
          staging = [];
          for (const item of batch) item.subscription.queue.push(item);
          for (const s of new Set(batch.map((item) => item.subscription))) pump(s);
        });
      }
      return;
    }
    d.subscription.queue.push(d);
    pump(d.subscription);
  }

  function pump(s: Subscription): void {
    while (s.inFlight < concurrency && s.queue.length > 0) {
      const index = chaos.enabled && chaos.reorder ? Math.floor(random() * s.queue.length) : 0;
      const [next] = s.queue.splice(index, 1);
      if (!next) return;
      s.inFlight++;
      void attempt(next).finally(() => {
        s.inFlight--;
        pump(s);
      });
    }
  }

  async function attempt(d: Delivery): Promise<void> {
    const s = d.subscription;
    if (s.deleted) return settle();
    const ttlMs = s.spec.eventTimeToLiveInMinutes * 60_000;
    if (timeline.now() - d.publishedAt >= ttlMs) return giveUp(d, 'TimeToLiveExceeded');
    d.attempts++;
    const deliveryCount = d.attempts - 1 + countBase;
    d.lastAttemptTime = azureTimestamp(options.clock.now());
    const result = await post(
      s.spec.endpoint,
      JSON.stringify([d.event]),
      headersFor(s, 'Notification', deliveryCount, d.event.dataVersion),
    );
    d.lastResult = result;
    const verdict = judge(result, d.attempts);
    const entry = {
      sequence: log.length + 1,
      subscription: s.spec.name,
      eventId: d.event.id,
      eventType: d.event.eventType,
      subject: d.event.subject,
      deliveryCount,
      duplicate: d.duplicate,
      time: d.lastAttemptTime,
      ...('status' in result ? { status: result.status } : {}),
      outcome: outcomeName(result),
      durationMs: result.durationMs,
    };
    const decision = decide(d, verdict, ttlMs);
    const logged: DeliveryLogEntry = {
      ...entry,
      next: decision.next,
      ...(decision.retryInMs !== undefined ? { retryInMs: decision.retryInMs } : {}),
    };
    log.push(logged);
    decision.act();
    // After act(): a listener that advances a virtual clock must find the retry timer already scheduled.
    for (const listener of [...listeners]) {
      try {
        listener(logged);
      } catch (error) {
        options.logger?.warn('eventgrid: delivery listener threw', { error: String(error) });
      }
    }
  }

  function decide(
    d: Delivery,
    verdict: ReturnType<typeof judge>,
    ttlMs: number,
  ): { next: DeliveryLogEntry['next']; retryInMs?: number; act: () => void } {
    const s = d.subscription;
    const deadLetterOrDrop = s.spec.deadLetterDirectory !== undefined ? 'dead-letter' : 'drop';
    if (verdict.kind === 'success') {
      return {
        next: 'done',
        act: () => {
          maybeDuplicate(d);
          settle();
        },
      };
    }
    if (verdict.kind === 'undeliverable')
      return { next: deadLetterOrDrop, act: () => giveUp(d, verdict.deadLetterReason) };
    if (d.attempts >= s.spec.maxDeliveryAttempts)
      return { next: deadLetterOrDrop, act: () => giveUp(d, 'MaxDeliveryAttemptsExceeded') };
    const remaining = ttlMs - (timeline.now() - d.publishedAt);
    if (verdict.delayMs >= remaining) {
      // The next scheduled attempt would fall after the TTL: the event expires at the TTL instead.
      return {
        next: deadLetterOrDrop,
        act: () => schedule(() => giveUp(d, 'TimeToLiveExceeded'), Math.max(0, remaining)),
      };
    }
    return {
      next: 'retry',
      retryInMs: verdict.delayMs,
      act: () =>
        schedule(() => {
          if (s.deleted) return settle();
          s.queue.push(d);
          pump(s);
        }, verdict.delayMs),
    };
  }

  function maybeDuplicate(d: Delivery): void {
    if (!chaos.enabled || d.duplicate || random() >= chaos.duplicateProbability) return;
    pending++;
    const copy: Delivery = { ...d, duplicate: true };
    d.subscription.queue.push(copy);
  }

  function giveUp(d: Delivery, reason: string): void {
    const s = d.subscription;
    const directory = s.spec.deadLetterDirectory;
    if (directory === undefined) {
      options.logger?.warn('eventgrid: event dropped', { subscription: s.spec.name, eventId: d.event.id, reason });
      return settle();
    }
    schedule(() => {
      const last = d.lastResult;
      writeDeadLetter({
        directory,
        subscription: s.spec.name,
        event: d.event,
        reason,
        attempts: d.attempts,
        lastOutcome: last ? outcomeName(last) : 'Undelivered',
        lastStatus: last && 'status' in last ? last.status : undefined,
        publishTime: d.publishTime,
        lastAttemptTime: d.lastAttemptTime ?? d.publishTime,
        now: options.clock.now(),
      })
        .then((record) => void deadLetters.push(record))
        .catch((error: unknown) =>
          options.logger?.warn('eventgrid: dead-letter write failed', { error: String(error) }),
        )
        .finally(settle);
    }, deadLetterDelayMs);
  }

  /** Queued deliveries are dropped; in-flight and scheduled ones notice `deleted` and settle. */
  function retire(s: Subscription): void {
    s.deleted = true;
    for (const _ of s.queue.splice(0)) settle();
  }

  const topicFor = (spec: SubscriptionSpec): string => {
    const all = options.registries();
    const scoped = spec.registry === undefined ? undefined : all.find((r) => key(r.name) === key(spec.registry ?? ''));
    if (scoped) return registryResourceId(scoped);
    return `/subscriptions/${all[0]?.subscriptionId ?? '00000000-0000-0000-0000-000000000000'}`;
  };

  return {
    publish(manifest: ManifestEvent): void {
      if (closed) return;
      const registry = options.registries().find((r) => key(r.name) === key(manifest.registry));
      if (!registry) {
        options.logger?.warn('eventgrid: event for unknown registry ignored', { registry: manifest.registry });
        return;
      }
      const now = options.clock.now();
      const event = toEventGridEvent(manifest, registry, { now });
      published.push(event);
      for (const s of subscriptions.values()) {
        if (s.state !== 'Succeeded' || !subscriptionMatches(s.spec, registry.name, event)) continue;
        pending++;
        enqueue({
          event,
          subscription: s,
          publishedAt: timeline.now(),
          publishTime: azureTimestamp(now),
          duplicate: false,
          attempts: 0,
        });
      }
    },

    async createSubscription(input) {
      const spec = subscriptionSpecSchema.parse(input);
      const previous = subscriptions.get(key(spec.name));
      if (previous) retire(previous);
      const s: Subscription = {
        spec,
        createdAt: options.clock.now().toISOString(),
        topic: topicFor(spec),
        validationCode: randomUUID(),
        state: 'AwaitingManualAction',
        queue: [],
        inFlight: 0,
        deleted: false,
      };
      subscriptions.set(key(spec.name), s);
      pending++;
      try {
        await handshake(s);
      } finally {
        settle();
      }
      return view(s);
    },

    deleteSubscription(name) {
      const s = subscriptions.get(key(name));
      if (!s) return false;
      retire(s);
      subscriptions.delete(key(name));
      return true;
    },

    getSubscription: (name) => {
      const s = subscriptions.get(key(name));
      return s ? view(s) : undefined;
    },
    listSubscriptions: () => [...subscriptions.values()].map(view),

    validateManually(name, code) {
      const s = subscriptions.get(key(name));
      if (!s || s.state !== 'AwaitingManualAction' || code !== s.validationCode) return false;
      s.state = 'Succeeded';
      delete s.validationError;
      return true;
    },

    setAtLeastOnce(settings) {
      chaos = {
        enabled: settings.enabled,
        duplicateProbability: settings.duplicateProbability ?? chaos.duplicateProbability,
        reorder: settings.reorder ?? chaos.reorder,
        seed: settings.seed ?? chaos.seed,
      };
      random = seededRandom(chaos.seed);
      return chaos;
    },
    atLeastOnce: () => chaos,

    whenIdle: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    deliveryLog: () => log,
    onDelivery(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    deadLetters: () => deadLetters,
    publishedEvents: () => published,

    close() {
      closed = true;
      for (const timer of timers) timer.cancel();
      timers.clear();
      for (const s of subscriptions.values()) s.deleted = true;
      subscriptions.clear();
      pending = 0;
      for (const resolve of idleWaiters.splice(0)) resolve();
    },
  };
}
