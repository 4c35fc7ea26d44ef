import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { FaultInjector } from '../faults.js';

/**
 * The sandbox inbox's state: alert channels (a signed-webhook receiver or a Teams Workflows stand-in each), every
 * delivery they received, and per-channel scripted behaviour for retry tests. In memory only; nothing persists.
 */

export const channelKinds = ['webhook', 'teams'] as const;
export type ChannelKind = (typeof channelKinds)[number];

/** Path segment rules for a channel name: it appears in receiver URLs and app-setting names. */
export const channelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and "-", at most 63 characters');

export interface InboxChannel {
  readonly name: string;
  readonly kind: ChannelKind;
  /** The receiver URL on the management listener, e.g. `https://localhost:44300/inbox/hooks/sandbox-webhook`. */
  readonly url: string;
  /** Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes); webhook channels only. */
  readonly secret?: string;
}

/**
 * What a channel does with the next requests, for tests:
 * - `normal`: verify / validate and record;
 * - `status`: answer `status` (with `Retry-After: retryAfterSeconds` when given) to the next `count` requests, recorded
 *   as `scripted`, then back to normal;
 * - `down`: destroy the socket without an answer (connection reset, like a receiver that is not listening) until the
 *   behaviour is changed. Not recorded in the inbox (the core drops the connection before routing); the emulator's
 *   request log shows each attempt with `fault: …: drop`.
 */
export const behaviourSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('normal') }),
  z.object({
    mode: z.literal('status'),
    status: z.number().int().min(400).max(599),
    count: z.number().int().positive().default(1),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
  }),
  z.object({ mode: z.literal('down') }),
]);
export type Behaviour = z.infer<typeof behaviourSchema>;
export type BehaviourInput = z.input<typeof behaviourSchema>;

/**
 * - `delivered`: verified (webhook) or valid (Teams) and recorded for the first time;
 * - `duplicate`: a verified webhook whose `webhook-id` this channel already delivered (answered 2xx like a
 * deduplicating receiver);
 * - `rejected`: failed verification (401) or validation (400, 413);
 * - `scripted`: answered by a scripted `status` behaviour, not inspected.
 */
export type DeliveryOutcome = 'delivered' | 'duplicate' | 'rejected' | 'scripted';

export interface InboxDelivery {
  /** Increases by one per recorded delivery; survives `clear()` so ids never repeat. */
  readonly sequence: number;
  readonly channel: string;
  readonly kind: ChannelKind;
  /** Emulator clock time (ISO 8601). */
  readonly receivedAt: string;
  readonly outcome: DeliveryOutcome;
  /** The status the inbox answered. */
  readonly status: number;
  /** Webhook channels: the `webhook-id` header, when sent. */
  readonly webhookId?: string;
  /** Webhook channels: whether the Standard Webhooks signature verified (absent for scripted answers). */
  readonly verified?: boolean;
  /** Why it was rejected or scripted. */
  readonly reason?: string;
  /** Request body size in bytes. */
  readonly bytes: number;
  /** The body parsed as JSON; the raw text when it is not JSON; absent when too large to keep. */
  readonly body?: unknown;
}

export type NewDelivery = Omit<InboxDelivery, 'sequence' | 'receivedAt'>;

export interface DeliveryFilter {
  readonly channel?: string;
  readonly kind?: ChannelKind;
  readonly outcome?: DeliveryOutcome;
}

export type BehaviourView = { readonly channel: string } & (
  | { readonly mode: 'normal' | 'down' }
  | {
      readonly mode: 'status';
      readonly status: number;
      readonly remaining: number;
      readonly retryAfterSeconds?: number;
    }
);

export interface InboxStoreOptions {
  /** `https://localhost:<port>` of the management listener the receivers are mounted on. */
  readonly managementUrl: string;
  /** Emulator time for `receivedAt`. */
  readonly now: () => Date;
  /** The emulator core's fault injector: `down` is a socket-dropping fault rule on the channel's receiver path. */
  readonly faults: Pick<FaultInjector, 'add' | 'remove'>;
  /** Oldest deliveries are dropped beyond this many. Default 1000. */
  readonly maxDeliveries?: number;
}

/** A fresh Standard Webhooks symmetric secret: `whsec_` + base64 of 32 random bytes (the spec allows 24–64). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function receiverPath(kind: ChannelKind, name: string): string {
  return `/inbox/${kind === 'webhook' ? 'hooks' : 'teams'}/${name}`;
}

type ScriptState =
  | { mode: 'normal' }
  | { mode: 'down'; faultId: string }
  | { mode: 'status'; status: number; remaining: number; retryAfterSeconds: number | undefined };

export class InboxStore {
  readonly #options: InboxStoreOptions;
  readonly #channels = new Map<string, InboxChannel>();
  readonly #scripts = new Map<string, ScriptState>();
  /** Per channel, webhook ids already delivered (dedupe memory; cleared with the deliveries). */
  readonly #seen = new Map<string, Set<string>>();
  #deliveries: InboxDelivery[] = [];
  #sequence = 0;

  constructor(options: InboxStoreOptions) {
    this.#options = options;
  }

  /** Creates (or replaces) a channel; webhook channels get a generated secret unless one is given. */
  addChannel(spec: { readonly name: string; readonly kind: ChannelKind; readonly secret?: string }): InboxChannel {
    const name = channelNameSchema.parse(spec.name);
    this.setBehaviour(name, { mode: 'normal' }, false);
    const url = `${this.#options.managementUrl}${receiverPath(spec.kind, name)}`;
    const channel: InboxChannel =
      spec.kind === 'webhook'
        ? { name, kind: 'webhook', url, secret: spec.secret ?? generateWebhookSecret() }
        : { name, kind: 'teams', url };
    this.#channels.set(name, channel);
    this.#seen.delete(name);
    return channel;
  }

  channel(name: string): InboxChannel | undefined {
    return this.#channels.get(name);
  }

  get channels(): readonly InboxChannel[] {
    return [...this.#channels.values()];
  }

  /** Newest first. */
  deliveries(filter: DeliveryFilter = {}): InboxDelivery[] {
    return this.#deliveries
      .filter(
        (d) =>
          (filter.channel === undefined || d.channel === filter.channel) &&
          (filter.kind === undefined || d.kind === filter.kind) &&
          (filter.outcome === undefined || d.outcome === filter.outcome),
      )
      .reverse();
  }

  record(delivery: NewDelivery): InboxDelivery {
    const recorded: InboxDelivery = {
      sequence: ++this.#sequence,
      receivedAt: this.#options.now().toISOString(),
      ...delivery,
    };
    this.#deliveries.push(recorded);
    const max = this.#options.maxDeliveries ?? 1000;
    if (this.#deliveries.length > max) this.#deliveries = this.#deliveries.slice(-max);
    return recorded;
  }

  /** True the first time a channel sees `webhookId`; remembers it. */
  firstSighting(channel: string, webhookId: string): boolean {
    let seen = this.#seen.get(channel);
    if (!seen) this.#seen.set(channel, (seen = new Set()));
    if (seen.has(webhookId)) return false;
    seen.add(webhookId);
    return true;
  }

  /** Forgets every delivery and the dedupe memory; channels and behaviours stay. */
  clear(): void {
    this.#deliveries = [];
    this.#seen.clear();
  }

  /** Replaces the channel's behaviour. Throws when the channel does not exist (unless `mustExist` is false). */
  setBehaviour(name: string, behaviour: Behaviour, mustExist = true): BehaviourView {
    if (mustExist && !this.#channels.has(name)) throw new Error(`no channel ${name}`);
    const previous = this.#scripts.get(name);
    if (previous?.mode === 'down') this.#options.faults.remove(previous.faultId);
    let next: ScriptState;
    if (behaviour.mode === 'down') {
      // Both receiver routes of the name: a channel has one kind, but a test may probe the other path too.
      const rule = this.#options.faults.add({
        listener: 'management',
        path: `^/inbox/(?:hooks|teams)/${name}/?$`,
        action: { kind: 'drop' },
      });
      next = { mode: 'down', faultId: rule.id };
    } else if (behaviour.mode === 'status') {
      next = {
        mode: 'status',
        status: behaviour.status,
        remaining: behaviour.count,
        retryAfterSeconds: behaviour.retryAfterSeconds,
      };
    } else next = { mode: 'normal' };
    this.#scripts.set(name, next);
    return this.behaviour(name);
  }

  behaviour(name: string): BehaviourView {
    const script = this.#scripts.get(name) ?? { mode: 'normal' };
    if (script.mode !== 'status') return { channel: name, mode: script.mode };
    return {
      channel: name,
      mode: 'status',
      status: script.status,
      remaining: script.remaining,
      ...(script.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: script.retryAfterSeconds }),
    };
  }

  /** The scripted answer for this request, if any (consumes one of `count`). */
  takeScripted(name: string): { readonly status: number; readonly retryAfterSeconds: number | undefined } | undefined {
    const script = this.#scripts.get(name);
    if (script?.mode !== 'status') return undefined;
    script.remaining--;
    if (script.remaining <= 0) this.#scripts.set(name, { mode: 'normal' });
    return { status: script.status, retryAfterSeconds: script.retryAfterSeconds };
  }
}
