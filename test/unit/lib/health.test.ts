import { describe, expect, it } from 'vitest';
import { cachedProbe } from '../../../lib/health.js';

/** A clock the test moves by hand (style §11: time comes from an injected clock, never a sleep). */
function manualClock(start = Date.parse('2026-11-23T00:00:00Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

describe('cachedProbe (issue #17 §4: at most one live probe per interval)', () => {
  it('answers from the last probe until the interval has passed, then probes again', async () => {
    const clock = manualClock();
    let runs = 0;
    const probe = cachedProbe(() => Promise.resolve(++runs), { intervalMs: 30_000, clock });

    const first = await probe();
    clock.advance(29_999);
    const cached = await probe();
    clock.advance(1);
    const fresh = await probe();

    expect([first, cached, fresh]).toEqual([1, 1, 2]);
    expect(runs).toBe(2);
  });

  it('lets callers that arrive while a probe runs share it instead of starting their own', async () => {
    const clock = manualClock();
    let runs = 0;
    let finish!: (value: string) => void;
    const probe = cachedProbe(
      () => {
        runs += 1;
        return new Promise<string>((resolve) => (finish = resolve));
      },
      { intervalMs: 30_000, clock },
    );

    const answers = Promise.all([probe(), probe(), probe()]);
    finish('up');

    expect(await answers).toEqual(['up', 'up', 'up']);
    expect(runs).toBe(1);
  });

  it('keeps a failed probe for the interval too, so failures cannot be used to force live probes', async () => {
    const clock = manualClock();
    let runs = 0;
    const probe = cachedProbe(() => Promise.reject(new Error(`down ${++runs}`)), { intervalMs: 30_000, clock });

    await expect(probe()).rejects.toThrow('down 1');
    await expect(probe()).rejects.toThrow('down 1');
    clock.advance(30_000);
    await expect(probe()).rejects.toThrow('down 2');
  });
});
