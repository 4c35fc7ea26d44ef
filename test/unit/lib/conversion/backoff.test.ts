import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pollDelaySeconds, retryDelaySeconds } from '../../../../lib/conversion/backoff.js';

const lowest = () => 0;
const highest = () => 1;
const middle = () => 0.5;

describe('pollDelaySeconds', () => {
  it('doubles from twice the first delay, within -20 % and +20 %', () => {
    expect([1, 2, 3].map((polls) => pollDelaySeconds(polls, 10, 600, middle))).toEqual([20, 40, 80]);
    expect([1, 2, 3].map((polls) => pollDelaySeconds(polls, 10, 600, lowest))).toEqual([16, 32, 64]);
    expect([1, 2, 3].map((polls) => pollDelaySeconds(polls, 10, 600, highest))).toEqual([24, 48, 96]);
  });

  it('is capped at the maximum (before jitter)', () => {
    expect(pollDelaySeconds(10, 10, 120, middle)).toBe(120);
    expect(pollDelaySeconds(10, 10, 120, lowest)).toBe(96);
    expect(pollDelaySeconds(10, 10, 120, highest)).toBe(144);
  });

  it('stays finite for absurd poll counts', () => {
    expect(pollDelaySeconds(10_000, 10, 120, middle)).toBe(120);
  });

  it('never answers less than one second', () => {
    expect(pollDelaySeconds(0, 0.5, 0.5, lowest)).toBe(1);
  });
});

describe('retryDelaySeconds', () => {
  it('starts at the initial delay for the first attempt and doubles', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, 60, 3_600, middle))).toEqual([60, 120, 240, 480]);
  });

  it('applies -20 % with random 0 and +20 % with random 1', () => {
    expect(retryDelaySeconds(1, 60, 3_600, lowest)).toBe(48);
    expect(retryDelaySeconds(1, 60, 3_600, highest)).toBe(72);
  });

  it('is capped at the maximum (before jitter)', () => {
    expect(retryDelaySeconds(20, 60, 3_600, middle)).toBe(3_600);
    expect(retryDelaySeconds(20, 60, 3_600, highest)).toBe(4_320);
  });

  it('treats attempt 0 like attempt 1 and never answers less than one second', () => {
    expect(retryDelaySeconds(0, 60, 3_600, middle)).toBe(60);
    expect(retryDelaySeconds(1, 1, 1, lowest)).toBe(1);
  });
});

/**
 * Properties of both schedules, asserted without re-computing the production formula (issue #14): bounds, growth,
 * the cap and the spread of the jitter.
 */
describe.each([
  ['pollDelaySeconds', pollDelaySeconds],
  ['retryDelaySeconds', retryDelaySeconds],
] as const)('%s (properties)', (_name, delayOf) => {
  const step = fc.integer({ min: 1, max: 60 });
  const first = fc.integer({ min: 1, max: 600 });
  const max = fc.integer({ min: 1, max: 3_600 });
  const jitter = fc.double({ min: 0, max: 1, noNaN: true });

  it('never waits less than a second, nor more than the maximum plus 20 %', () => {
    fc.assert(
      fc.property(step, first, max, jitter, (n, initial, cap, r) => {
        const delay = delayOf(n, initial, cap, () => r);

        expect(delay).toBeGreaterThanOrEqual(1);
        expect(delay).toBeLessThanOrEqual(Math.ceil(cap * 1.2));
      }),
    );
  });

  it('never shrinks from one step to the next (same jitter)', () => {
    fc.assert(
      fc.property(step, first, max, jitter, (n, initial, cap, r) => {
        expect(delayOf(n + 1, initial, cap, () => r)).toBeGreaterThanOrEqual(delayOf(n, initial, cap, () => r));
      }),
    );
  });

  it('reaches the maximum and stays there', () => {
    fc.assert(
      fc.property(first, max, (initial, cap) => {
        expect(delayOf(60, initial, cap, middle)).toBe(cap);
        expect(delayOf(61, initial, cap, middle)).toBe(cap);
      }),
    );
  });

  it('spreads one step over at most ±20 %, so workers started together do not retry in lockstep', () => {
    fc.assert(
      fc.property(step, fc.integer({ min: 10, max: 600 }), fc.integer({ min: 10, max: 3_600 }), (n, initial, cap) => {
        const low = delayOf(n, initial, cap, lowest);
        const high = delayOf(n, initial, cap, highest);
        const mid = delayOf(n, initial, cap, middle);

        expect(low).toBeLessThan(high);
        expect(low).toBeGreaterThanOrEqual(Math.floor(mid * 0.8));
        expect(high).toBeLessThanOrEqual(Math.ceil(mid * 1.2));
      }),
    );
  });
});
