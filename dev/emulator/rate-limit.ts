import { z } from 'zod';

export const rateLimitSchema = z.object({
  /** Requests the registry answers per second on average (the bucket's refill). */
  requestsPerSecond: z.number().positive().max(100_000),
  /** Requests it answers at once after a quiet spell (the bucket's size); `requestsPerSecond` by default. */
  burst: z.number().int().positive().max(100_000).optional(),
});

export type RateLimit = z.infer<typeof rateLimitSchema>;

/**
 * Hostile mode: a registry's request rate limited by a token bucket over every request its listeners receive (ACR's
 * per-registry ReadOps/WriteOps limits, docs/assumptions.md A16), each request beyond it answered `429 TOOMANYREQUESTS`
 * with `Retry-After` (whole seconds, RFC 9110 §10.2.3) until the bucket holds a token again. Off by default. Counted on
 * the wall clock, not the virtual one: it limits the load the app really makes.
 */
export class RegistryRateLimiter {
  #limit: RateLimit | undefined;
  #tokens = 0;
  #refilledAt = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get limit(): RateLimit | undefined {
    return this.#limit;
  }

  /** Turns the mode on with a full bucket (`undefined`: off). */
  set(limit: RateLimit | undefined): void {
    this.#limit = limit;
    this.#tokens = limit?.burst ?? limit?.requestsPerSecond ?? 0;
    this.#refilledAt = this.now();
  }

  /** Takes a token for a request: undefined when it may pass, else the seconds to ask the client to wait. */
  take(): number | undefined {
    const limit = this.#limit;
    if (limit === undefined) return undefined;
    const now = this.now();
    const size = limit.burst ?? limit.requestsPerSecond;
    this.#tokens = Math.min(size, this.#tokens + ((now - this.#refilledAt) / 1000) * limit.requestsPerSecond);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / limit.requestsPerSecond));
  }
}
