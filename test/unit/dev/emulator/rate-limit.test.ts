import { describe, expect, it } from 'vitest';
import { RegistryRateLimiter } from '../../../../dev/emulator/rate-limit.js';

describe('emulator rate limit (token bucket per registry)', () => {
  it('is off by default: every request passes', () => {
    const limiter = new RegistryRateLimiter(() => 0);

    expect(Array.from({ length: 1_000 }, () => limiter.take()).filter((wait) => wait !== undefined)).toEqual([]);
  });

  it('passes a burst, then answers with the whole seconds until a token is back, and refills at the rate', () => {
    let now = 0;
    const limiter = new RegistryRateLimiter(() => now);
    limiter.set({ requestsPerSecond: 0.5, burst: 2 });

    const burst = [limiter.take(), limiter.take(), limiter.take()];
    now = 1_000;
    const halfway = limiter.take();
    now = 2_000;
    const refilled = limiter.take();

    expect(burst).toEqual([undefined, undefined, 2]);
    expect(halfway).toBe(1);
    expect(refilled).toBeUndefined();
  });

  it('turns off again', () => {
    const limiter = new RegistryRateLimiter(() => 0);
    limiter.set({ requestsPerSecond: 1, burst: 1 });
    limiter.take();

    limiter.set(undefined);

    expect(limiter.take()).toBeUndefined();
  });
});
