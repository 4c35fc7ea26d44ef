import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ListenerInfo } from './contract.js';

/** What an injected fault does instead of (or before) normal routing. */
export const faultActionSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('status'),
    status: z.number().int().min(400).max(599),
    /** Sent as `Retry-After` (seconds), typically with 429 or 503. */
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    /** OCI-style error code for the body; defaults by status (TOOMANYREQUESTS, UNAVAILABLE, …). */
    code: z.string().optional(),
  }),
  /** Wall-clock delay, then normal routing: for client timeout tests. */
  z.object({ kind: z.literal('latency'), milliseconds: z.number().int().nonnegative().max(120_000) }),
  /** Destroys the socket without a response. */
  z.object({ kind: z.literal('drop') }),
]);

export const faultRuleInputSchema = z.object({
  /** Exact method; any when absent. */
  method: z.string().toUpperCase().optional(),
  /** Regular expression (source) tested against the decoded path. */
  path: z.string().optional(),
  /** `registry` (any registry listener), `management`, or a registry's name. */
  listener: z.string().optional(),
  action: faultActionSchema,
  /** How many matching requests it applies to; unlimited when absent. */
  count: z.number().int().positive().optional(),
  /** Chance in [0,1] that a matching request is hit (each hit still consumes `count`). */
  probability: z.number().min(0).max(1).optional(),
});

export type FaultAction = z.infer<typeof faultActionSchema>;
export type FaultRuleInput = z.infer<typeof faultRuleInputSchema>;
export interface FaultRule extends FaultRuleInput {
  readonly id: string;
  /** Times it has fired so far. */
  hits: number;
}

export class FaultInjector {
  #rules: FaultRule[] = [];

  add(input: FaultRuleInput): FaultRule {
    if (input.path !== undefined) new RegExp(input.path); // throws on an invalid pattern, before we store it
    const rule: FaultRule = { ...input, id: randomUUID(), hits: 0 };
    this.#rules.push(rule);
    return rule;
  }

  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length !== before;
  }

  clear(): void {
    this.#rules = [];
  }

  list(): readonly FaultRule[] {
    return this.#rules;
  }

  /** The first matching rule that fires for this request (consuming one of its `count`), if any. */
  take(method: string, path: string, listener: ListenerInfo): FaultRule | undefined {
    if (listener.kind === 'control') return undefined; // never lock the test harness out of its own controls
    for (const rule of this.#rules) {
      if (rule.method !== undefined && rule.method !== method) continue;
      if (rule.path !== undefined && !new RegExp(rule.path).test(path)) continue;
      if (rule.listener !== undefined && !listenerMatches(rule.listener, listener)) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      rule.hits++;
      if (rule.count !== undefined && rule.hits >= rule.count) this.remove(rule.id);
      return rule;
    }
    return undefined;
  }
}

function listenerMatches(selector: string, listener: ListenerInfo): boolean {
  if (listener.kind === 'management') return selector === 'management';
  if (listener.kind === 'registry') return selector === 'registry' || selector === listener.registry;
  return false;
}

const defaultCodes: Record<number, string> = {
  429: 'TOOMANYREQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function faultErrorCode(status: number): string {
  return defaultCodes[status] ?? 'UNKNOWN';
}
