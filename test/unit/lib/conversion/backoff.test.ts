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

  it('stays within the jitter bounds for any input (property)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 3_600 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (polls, first, max, r) => {
          const base = Math.min(max, first * 2 ** polls);

          const delay = pollDelaySeconds(polls, first, max, () => r);

          expect(delay).toBeGreaterThanOrEqual(Math.max(1, Math.round(base * 0.8)));
          expect(delay).toBeLessThanOrEqual(Math.max(1, Math.round(base * 1.2)));
        },
      ),
    );
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
