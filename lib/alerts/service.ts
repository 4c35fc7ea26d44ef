import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AlertSettings, ChannelSettings } from './settings.js';
import { tableKeyText } from '../core/image.js';
import { type Clock } from '../core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { PolicySource } from '../policy/model.js';
import type { AlertOutbox, AlertQueue, AlertStore } from './ports.js';
import { toAlertEvent, type AlertEvent } from './events.js';
import {
  summaryTeamsMessage,
  summaryWebhookBody,
  teamsMessage,
  webhookBody,
  type LinkContext,
  type Summary,
} from './render.js';
import { routeAlert } from './routing.js';
import { signWebhook, type AlertSender } from './sender.js';
import { deliveryKey, type Delivery, type DeliveryStatus } from './delivery.js';
import { logMetrics } from '../core/metrics.js';

export const alertMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('dispatch'), registry: tableKeyText(1, 64), eventId: tableKeyText(1, 1_024) }).strict(),
  z
    .object({
      kind: z.literal('deliver'),
      channel: tableKeyText(1, 64),
      key: z.string().regex(/^[a-f0-9]{32}$/),
      token: z.string().min(1).max(64),
    })
    .strict(),
]);
export type AlertMessage = z.infer<typeof alertMessageSchema>;

export interface AlertDependencies {
  readonly settings: AlertSettings;
  readonly outbox: AlertOutbox;
  readonly store: AlertStore;
  readonly queue: AlertQueue;
  readonly sender: AlertSender;
  readonly policies: PolicySource;
  readonly links: (registry: string) => LinkContext;
  readonly clock: Clock;
  readonly random?: () => number;
}

/**
 * How long a claim to send one delivery holds: well above the sender's timeout (15 s), so a live sender always
 * records its result before another worker may take the delivery over.
 */
const sendLeaseSeconds = 60;

/** Backoff between delivery attempts, in seconds (±20 % jitter); the last value repeats. */
const retrySchedule = [10, 30, 60, 300, 900, 1_800, 3_600, 7_200];

/**
 * Alert delivery that loses nothing. The outbox row is turned into one delivery per routed channel (deterministic
 * ids, so a redelivered dispatch creates nothing twice); each delivery has its own queue message chain, retries
 * and rate limit, so one failing channel never delays another. Duplicates inside the dedup window are suppressed
 * and bursts beyond the threshold collapse into one summary per channel and window. Deliveries that exhaust their
 * attempts are kept as `failed`, listed by the API and re-sendable.
 */
export class AlertService {
  private readonly random: () => number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly deps: AlertDependencies) {
    this.random = deps.random ?? Math.random;
  }

  async handle(raw: unknown, log: Logger): Promise<void> {
    const parsed = alertMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn(
        `alert message rejected: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
      return;
    }
    if (parsed.data.kind === 'dispatch') await this.dispatch(parsed.data.registry, parsed.data.eventId, log);
    else await this.deliver(parsed.data.channel, parsed.data.key, parsed.data.token, log);
  }

  async dispatch(registry: string, eventId: string, log: Logger): Promise<void> {
    const row = await this.deps.outbox.get(registry, eventId);
    if (row === undefined) {
      log.warn(`alert message dropped: no outbox event ${eventId} of ${registry}`, { registry, eventId });
      return;
    }
    // A redelivered message after the first dispatch finished: nothing left to do.
    if (row.value.delivery !== 'pending') {
      log.info(`alert message dropped: outbox event ${eventId} of ${registry} is already ${row.value.delivery}`, {
        registry,
        eventId,
      });
      return;
    }
    const parsed = toAlertEvent(row.value.payload);
    if ('reason' in parsed) {
      log.warn(`outbox event ${eventId} of ${registry} cannot be alerted: ${parsed.reason}`);
      await this.deps.outbox.mark(row.value, row.etag, 'rejected');
      return;
    }
    const event = parsed.event;
    const policy = event.repository
      ? (await this.deps.policies.policyFor(event.registry, event.repository)).policy
      : undefined;
    for (const channel of routeAlert(event, this.deps.settings.channels, policy))
      await this.dispatchTo(channel, event, log);
    // A channel disabled at start-up (its URL or secret missing or an unresolved Key Vault reference) gets nothing;
    // say so with each alert it misses, naming the setting, so the gap shows in the logs and in /api/health/details.
    for (const [channel, reason] of this.deps.settings.disabledChannels)
      log.warn(`alert channel ${channel} is disabled (${reason}); event ${eventId} not sent to it`, {
        channel,
        eventId,
      });
    await this.deps.outbox.mark(row.value, row.etag, 'dispatched');
  }

  private async dispatchTo(channel: ChannelSettings, event: AlertEvent, log: Logger): Promise<void> {
    const now = this.deps.clock.now();
    const key = deliveryKey(event.registry, event.id, channel.name);
    const token = randomUUID();
    const delivery: Delivery = {
      id: `${channel.name}.${key}`,
      channel: channel.name,
      key,
      kind: 'event',
      registry: event.registry,
      type: event.type,
      severity: event.severity,
      status: 'pending',
      attempts: 0,
      token,
      nextAttemptAt: now.toISOString(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      event,
    };
    const etag = await this.deps.store.createDelivery(delivery);
    if (etag === undefined) {
      // Already there: an earlier dispatch (perhaps this one, whose answer was lost) created it. If it is still
      // waiting, send its current token again: a second message with the same token is dropped once one delivers.
      const existing = await this.deps.store.getDelivery(channel.name, key);
      if (existing?.value.status === 'pending' && existing.value.token && existing.value.kind === 'event') {
        await this.deps.queue.send({ kind: 'deliver', channel: channel.name, key, token: existing.value.token }, 0);
      }
      return;
    }
    const settle = async (status: DeliveryStatus, note: string): Promise<void> => {
      await this.deps.store.replaceDelivery(
        { ...delivery, status, note, token: undefined, nextAttemptAt: undefined },
        etag,
      );
    };
    const { dedupWindowSeconds, burstWindowSeconds, burstThreshold } = this.deps.settings;
    if (
      dedupWindowSeconds > 0 &&
      (await this.deps.store.seenRecently(channel.name, identityOf(event), now.getTime(), dedupWindowSeconds * 1000))
    ) {
      await settle('suppressed', `the same ${event.type} was alerted on ${channel.name} within ${dedupWindowSeconds}s`);
      return;
    }
    const windowStart = Math.floor(now.getTime() / (burstWindowSeconds * 1000)) * burstWindowSeconds * 1000;
    const window = `${event.registry}|${event.type}|${windowStart}`;
    const burst = await this.deps.store.addToWindow(channel.name, window, event);
    if (burst.count > burstThreshold) {
      await this.scheduleSummary(channel, event, window, windowStart + burstWindowSeconds * 1000);
      await settle('summarized', `collapsed into the summary of window ${new Date(windowStart).toISOString()}`);
      log.info(`alert ${delivery.id}: part of a burst on ${channel.name}; it goes out in the window's summary`);
      return;
    }
    await this.deps.queue.send({ kind: 'deliver', channel: channel.name, key, token }, 0);
  }

  /** The summary of a window is one delivery with a deterministic id, sent when the window closes. */
  private async scheduleSummary(
    channel: ChannelSettings,
    event: AlertEvent,
    window: string,
    closesAt: number,
  ): Promise<void> {
    const now = this.deps.clock.now();
    const key = deliveryKey('summary', channel.name, window);
    const token = randomUUID();
    const created = await this.deps.store.createDelivery({
      id: `${channel.name}.${key}`,
      channel: channel.name,
      key,
      kind: 'summary',
      registry: event.registry,
      type: 'alerts.summary',
      severity: event.severity,
      status: 'pending',
      attempts: 0,
      token,
      nextAttemptAt: new Date(closesAt).toISOString(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      window,
    });
    if (created !== undefined)
      await this.deps.queue.send(
        { kind: 'deliver', channel: channel.name, key, token },
        Math.max(0, (closesAt - now.getTime()) / 1000),
      );
  }

  async deliver(channelName: string, key: string, token: string, log: Logger): Promise<void> {
    const current = await this.deps.store.getDelivery(channelName, key);
    if (current === undefined) {
      log.warn(`alert message dropped: no delivery ${key} on channel ${channelName}`, { channel: channelName, key });
      return;
    }
    // Another attempt owns it (newer token), a live claim is sending it, or it is settled: a duplicate or stale
    // message. A claim whose lease ran out is a sender that died: its message, redelivered, may take over.
    const claimLapsed =
      current.value.status === 'sending' &&
      Date.parse(current.value.leaseUntil ?? '') <= this.deps.clock.now().getTime();
    if ((current.value.status !== 'pending' && !claimLapsed) || current.value.token !== token) {
      log.info(
        `alert message dropped: delivery ${key} on ${channelName} is ${current.value.token === token ? current.value.status : 'owned by a newer message'}`,
        { channel: channelName, key },
      );
      return;
    }
    const delivery: Delivery = { ...current.value, status: 'pending', leaseUntil: undefined, claimId: undefined };
    const channel = this.deps.settings.channels.find((candidate) => candidate.name === channelName);
    const target = this.deps.settings.channelSecrets.get(channelName);
    if (channel === undefined || target === undefined) {
      await this.deps.store.replaceDelivery(
        {
          ...delivery,
          status: 'failed',
          note: `channel ${channelName} is no longer configured`,
          updatedAt: this.now(),
        },
        current.etag,
      );
      return;
    }
    const waitMs = this.takeToken(channel);
    if (waitMs > 0)
      return this.retryLater(current.value, current.etag, Math.ceil(waitMs / 1000), undefined, 'rate limited', false);
    const body = await this.render(channel, delivery);
    if (body === undefined) {
      await this.deps.store.replaceDelivery(
        { ...delivery, status: 'failed', note: 'nothing to send (the burst window is gone)', updatedAt: this.now() },
        current.etag,
      );
      return;
    }
    if (this.deps.settings.dryRun) {
      log.info(`alert ${delivery.id} (dry run, not sent to ${channel.name}): ${body}`);
      await this.deps.store.replaceDelivery(
        { ...delivery, status: 'dry-run', token: undefined, updatedAt: this.now() },
        current.etag,
      );
      return;
    }
    const headers =
      channel.kind === 'webhook' && target.secret
        ? signWebhook(target.secret, delivery.id, body, this.deps.clock.now())
        : {};
    // Claim before the call, so two workers holding the same message (a redelivery, a re-dispatch) never both send:
    // Teams has no id to deduplicate on. Only a sender that dies between the call and the record repeats it.
    const claim: Delivery = {
      ...delivery,
      status: 'sending',
      leaseUntil: new Date(this.deps.clock.now().getTime() + sendLeaseSeconds * 1000).toISOString(),
      claimId: randomUUID(),
      updatedAt: this.now(),
    };
    const claimed = (await this.deps.store.replaceDelivery(claim, current.etag)) ?? (await this.ownWrite(claim));
    if (claimed === undefined) {
      log.info(`alert message dropped: delivery ${key} on ${channelName} was claimed by another worker`, {
        channel: channelName,
        key,
      });
      return;
    }
    const result = await this.deps.sender.send({ url: target.url, body, headers });
    if (result.status >= 200 && result.status < 300) {
      const delivered: Delivery = {
        ...delivery,
        status: 'delivered',
        attempts: delivery.attempts + 1,
        lastStatus: result.status,
        deliveredAt: this.now(),
        token: undefined,
        nextAttemptAt: undefined,
        updatedAt: this.now(),
      };
      const recorded = (await this.deps.store.replaceDelivery(delivered, claimed)) ?? (await this.ownWrite(delivered));
      if (recorded === undefined)
        log.warn(
          `alert ${delivery.id} was delivered to ${channel.name} but recording it failed: another worker took it over after this claim ran out, and may send it again`,
        );
      log.info(`alert ${delivery.id} delivered to ${channel.name} (${result.status})`);
      logMetrics(log).count('alert.delivery', {
        channel: channel.name,
        type: delivery.type,
        outcome: 'delivered',
        status: result.status,
      });
      return;
    }
    const outcome = result.status === 0 ? (result.error ?? 'no answer') : `HTTP ${result.status}`;
    const hint =
      channel.kind === 'teams' && result.status === 400
        ? ' (is this a Teams Workflows webhook URL? Office 365 connector URLs are retired)'
        : '';
    if (result.status === 410 || result.status === 404 || delivery.attempts + 1 >= this.deps.settings.maxAttempts) {
      await this.deps.store.replaceDelivery(
        {
          ...delivery,
          status: 'failed',
          attempts: delivery.attempts + 1,
          lastStatus: result.status,
          note: `${outcome}${hint}`,
          token: undefined,
          nextAttemptAt: undefined,
          updatedAt: this.now(),
        },
        claimed,
      );
      log.error(
        `alert ${delivery.id} to ${channel.name} failed after ${delivery.attempts + 1} attempt(s): ${outcome}${hint}; kept, re-send with POST /api/alerts/${delivery.id}/resend`,
      );
      logMetrics(log).count('alert.delivery', {
        channel: channel.name,
        type: delivery.type,
        outcome: 'failed',
        status: result.status,
      });
      return;
    }
    log.warn(`alert ${delivery.id} to ${channel.name}: ${outcome}${hint}; retrying`);
    logMetrics(log).count('alert.delivery', {
      channel: channel.name,
      type: delivery.type,
      outcome: 'retry',
      status: result.status,
    });
    await this.retryLater(delivery, claimed, undefined, result, outcome, true);
  }

  /**
   * After a conditional write failed: when the row holds exactly what we wrote (storage applied it and only its
   * answer was lost, so the SDK's retry met our own new ETag), the write was ours — return the row's ETag.
   */
  private async ownWrite(written: Delivery): Promise<string | undefined> {
    const current = await this.deps.store.getDelivery(written.channel, written.key);
    const ours =
      current !== undefined &&
      current.value.status === written.status &&
      current.value.token === written.token &&
      current.value.leaseUntil === written.leaseUntil &&
      current.value.claimId === written.claimId &&
      current.value.updatedAt === written.updatedAt;
    return ours ? current.etag : undefined;
  }

  private async retryLater(
    delivery: Delivery,
    etag: string,
    delaySeconds: number | undefined,
    result: { status: number; retryAfterMs?: number } | undefined,
    note: string,
    countAttempt: boolean,
  ): Promise<void> {
    const attempts = delivery.attempts + (countAttempt ? 1 : 0);
    const backoff = retrySchedule[Math.min(attempts - 1, retrySchedule.length - 1)] ?? 10;
    const delay =
      delaySeconds ??
      (result?.retryAfterMs !== undefined
        ? Math.ceil(result.retryAfterMs / 1000)
        : Math.max(1, Math.round(backoff * (0.8 + 0.4 * this.random()))));
    const token = randomUUID();
    const next: Delivery = {
      ...delivery,
      attempts,
      ...(result ? { lastStatus: result.status } : {}),
      note,
      token,
      nextAttemptAt: new Date(this.deps.clock.now().getTime() + delay * 1000).toISOString(),
      updatedAt: this.now(),
    };
    if ((await this.deps.store.replaceDelivery(next, etag)) === undefined) return;
    await this.deps.queue.send({ kind: 'deliver', channel: delivery.channel, key: delivery.key, token }, delay);
  }

  private async render(channel: ChannelSettings, delivery: Delivery): Promise<string | undefined> {
    const context = this.deps.links(delivery.registry);
    if (delivery.kind === 'event' && delivery.event) {
      return JSON.stringify(
        channel.kind === 'teams'
          ? teamsMessage(delivery.event, context)
          : webhookBody(delivery.id, delivery.event, context),
      );
    }
    if (delivery.window === undefined) return undefined;
    const window = await this.deps.store.getWindow(channel.name, delivery.window);
    if (window === undefined) return undefined;
    const threshold = this.deps.settings.burstThreshold;
    // The first `threshold` events of the window went out on their own; the summary stands for the rest.
    const summary: Summary = {
      id: delivery.id,
      type: window.events[0]?.type ?? 'alerts.summary',
      registry: delivery.registry,
      time: this.now(),
      events: window.events.slice(threshold),
      omitted: window.omitted,
    };
    return JSON.stringify(
      channel.kind === 'teams'
        ? summaryTeamsMessage(summary, context)
        : summaryWebhookBody(delivery.id, summary, context),
    );
  }

  /** Per-channel token bucket (per instance): ratePerMinute tokens, refilled continuously. */
  private takeToken(channel: ChannelSettings): number {
    const now = this.deps.clock.now().getTime();
    const capacity = Math.max(1, Math.ceil(channel.ratePerMinute / 6));
    const bucket = this.buckets.get(channel.name) ?? { tokens: capacity, at: now };
    const refilled = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 60_000) * channel.ratePerMinute);
    if (refilled >= 1) {
      this.buckets.set(channel.name, { tokens: refilled - 1, at: now });
      return 0;
    }
    this.buckets.set(channel.name, { tokens: refilled, at: now });
    return ((1 - refilled) / channel.ratePerMinute) * 60_000;
  }

  /** Safety net: dispatches outbox rows and re-drives deliveries whose queue message was lost. */
  async relay(log: Logger, graceSeconds = 60): Promise<{ dispatched: number; redriven: number; pruned: number }> {
    const now = this.deps.clock.now().getTime();
    let dispatched = 0;
    let redriven = 0;
    for await (const row of this.deps.outbox.pending()) {
      if (Date.parse(row.time) > now - graceSeconds * 1000) continue;
      await this.deps.queue.send({ kind: 'dispatch', registry: row.registry, eventId: row.id }, 0);
      dispatched++;
    }
    for await (const { value, etag } of this.deps.store.unsettledDeliveries()) {
      // A live claim is being sent right now: taking it back would send it twice. A lapsed one is a dead sender.
      const due =
        value.status === 'sending'
          ? Date.parse(value.leaseUntil ?? '') <= now
          : value.nextAttemptAt === undefined || Date.parse(value.nextAttemptAt) <= now - graceSeconds * 1000;
      if (!due) continue;
      const token = randomUUID();
      const next: Delivery = {
        ...value,
        status: 'pending',
        leaseUntil: undefined,
        claimId: undefined,
        token,
        updatedAt: this.now(),
      };
      if ((await this.deps.store.replaceDelivery(next, etag)) === undefined) continue;
      await this.deps.queue.send({ kind: 'deliver', channel: value.channel, key: value.key, token }, 0);
      redriven++;
    }
    const pruned = await this.deps.outbox.prune(new Date(now - 7 * 86_400_000));
    if (dispatched + redriven > 0)
      log.warn(`alert relay: ${dispatched} outbox event(s) dispatched, ${redriven} delivery(ies) re-driven`);
    return { dispatched, redriven, pruned };
  }

  async list(
    filter: { status?: DeliveryStatus; channel?: string },
    page: { pageSize: number; continuationToken?: string },
  ) {
    const result = await this.deps.store.listDeliveries(filter, page);
    return {
      items: result.items.map(view),
      ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}),
    };
  }

  /** Sends a failed (or any finished) delivery again, with fresh attempts. */
  async resend(id: string, log: Logger, requestedBy?: string): Promise<ReturnType<typeof view>> {
    const match = /^([a-zA-Z0-9_-]{1,64})\.([a-f0-9]{32})$/.exec(id);
    if (!match)
      throw new ValidationError(`"${id.slice(0, 100)}" is not an alert id.`, [
        { field: 'params.id', reason: 'expected {channel}.{32 hex}' },
      ]);
    const current = await this.deps.store.getDelivery(match[1]!, match[2]!);
    if (current === undefined) throw new NotFoundError(`No alert ${id}.`);
    if (
      current.value.status === 'sending' &&
      Date.parse(current.value.leaseUntil ?? '') > this.deps.clock.now().getTime()
    )
      throw new ConflictError(`Alert ${id} is being sent right now; look again in a minute.`);
    const token = randomUUID();
    const next: Delivery = {
      ...current.value,
      status: 'pending',
      leaseUntil: undefined,
      claimId: undefined,
      attempts: 0,
      token,
      nextAttemptAt: this.now(),
      note: requestedBy === undefined ? 're-sent by request' : `re-sent at the request of ${requestedBy}`,
      ...(requestedBy === undefined ? {} : { resentBy: requestedBy }),
      updatedAt: this.now(),
    };
    if ((await this.deps.store.replaceDelivery(next, current.etag)) === undefined)
      throw new ValidationError(`Alert ${id} changed meanwhile; try again.`);
    await this.deps.queue.send({ kind: 'deliver', channel: next.channel, key: next.key, token }, 0);
    log.info(`alert ${id} re-sent by request${requestedBy === undefined ? '' : ` of ${requestedBy}`}`, {
      ...(requestedBy === undefined ? {} : { caller: requestedBy }),
    });
    return view(next);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

/** What the API shows of a delivery: no token, and the event's facts (never a URL or secret). */
function view(delivery: Delivery) {
  const { token: _token, key: _key, leaseUntil: _leaseUntil, claimId: _claimId, ...rest } = delivery;
  return rest;
}

/**
 * Events are "the same" when they are about the same thing: type, registry, repository, digest — and, for a
 * conversion's outcome, the same run: a run someone started again (a restart, a re-push) is news.
 */
function identityOf(event: AlertEvent): string {
  return [
    event.type,
    event.registry,
    event.repository ?? '',
    event.digest ?? '',
    event.generation ?? '',
    event.type.startsWith('connectedRegistry') || event.type.startsWith('consumer.')
      ? JSON.stringify(event.facts ?? {})
      : '',
  ].join('|');
}
