import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pollDelaySeconds } from '../../../../lib/conversion/backoff.js';
import { nextPoll, parsePercent, type PollScheduleInput } from '../../../../lib/conversion/poll-schedule.js';

const start = new Date('2026-03-01T12:00:00.000Z');
const at = (seconds: number): Date => new Date(start.getTime() + seconds * 1000);
const middle = () => 0.5;

function input(fields: Partial<PollScheduleInput>): PollScheduleInput {
  return {
    polls: 2,
    status: 'Running',
    progress: undefined,
    previousProgress: undefined,
    baseline: undefined,
    previousExpectedFinishAt: undefined,
    now: at(0),
    firstPollSeconds: 10,
    maxPollSeconds: 300,
    random: middle,
    ...fields,
  };
}

/** What today's schedule answers for the same poll: the fallback. */
const doubling = (polls: number) => pollDelaySeconds(polls + 1, 10, 300, middle);

describe('parsePercent', () => {
  it("reads ACR's percentage strings", () => {
    expect(['0%', '37%', '100%', ' 42 % ', '12.5%'].map(parsePercent)).toEqual([0, 37, 100, 42, 12.5]);
  });

  it('answers undefined for anything else', () => {
    expect([undefined, '', '37', 'n/a', '120%', '-5%', 'NaN%'].map(parsePercent)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('nextPoll', () => {
  it('aims at the finish the observed rate predicts, plus the margin, and says when that is', () => {
    // 20 % → 40 % in 60 s: 60 % to go at 1 %/3 s is 180 s; margin 5 s + 5 % of 180 s = 14 s.
    const plan = nextPoll(
      input({
        progress: '40%',
        previousProgress: '20%',
        baseline: { percent: 20, at: at(0).toISOString() },
        now: at(60),
      }),
    );
    expect(plan).toEqual({
      delaySeconds: 194,
      baseline: { percent: 20, at: at(0).toISOString() },
      expectedFinishAt: at(240).toISOString(),
    });
  });

  it('measures the rate from the first reading, not the previous one', () => {
    const plan = nextPoll(
      input({
        progress: '50%',
        previousProgress: '45%',
        baseline: { percent: 10, at: at(0).toISOString() },
        now: at(80),
      }),
    );
    // 40 % in 80 s: the other 50 % takes 100 s.
    expect(plan.expectedFinishAt).toBe(at(180).toISOString());
  });

  it('the first reading of an operation becomes the baseline; the delay is the doubling schedule', () => {
    const plan = nextPoll(input({ polls: 0, progress: '26%', now: at(10) }));
    expect(plan).toEqual({
      delaySeconds: doubling(0),
      baseline: { percent: 26, at: at(10).toISOString() },
      expectedFinishAt: undefined,
    });
  });

  it.each([
    ['NotStarted', 'NotStarted', '0%'],
    ['a status this app does not know', 'Converting', '50%'],
    ['no progress', 'Running', undefined],
    ['unparseable progress', 'Running', 'about half'],
  ])('%s: the doubling schedule, no estimate', (_case, status, progress) => {
    const baseline = { percent: 10, at: at(0).toISOString() };
    const plan = nextPoll(input({ polls: 3, status, progress, previousProgress: '20%', baseline, now: at(100) }));
    expect(plan).toEqual({ delaySeconds: doubling(3), baseline, expectedFinishAt: undefined });
  });

  it('a stall (no gain since the previous poll) falls back to the doubling schedule', () => {
    const baseline = { percent: 10, at: at(0).toISOString() };
    const plan = nextPoll(input({ polls: 4, progress: '20%', previousProgress: '20%', baseline, now: at(150) }));
    expect(plan).toEqual({ delaySeconds: doubling(4), baseline, expectedFinishAt: undefined });
  });

  it('progress below the baseline (ACR started over) becomes the new baseline', () => {
    const plan = nextPoll(
      input({
        progress: '5%',
        previousProgress: '30%',
        baseline: { percent: 30, at: at(0).toISOString() },
        now: at(60),
      }),
    );
    expect(plan).toEqual({
      delaySeconds: doubling(2),
      baseline: { percent: 5, at: at(60).toISOString() },
      expectedFinishAt: undefined,
    });
  });

  it('once a predicted end has passed with ACR still converting, no longer wait than the doubling schedule', () => {
    // 2 % at 10 s, 8 % at 26 s predicted the end at 271 s; at 288 s progress reads 20 %: the rate now says 1,235 s
    // to go (a stall looks like a slow rate), so the wait is the doubling schedule's, not the maximum.
    const baseline = { percent: 2, at: at(10).toISOString() };
    const slowed = nextPoll(
      input({
        progress: '20%',
        previousProgress: '8%',
        baseline,
        previousExpectedFinishAt: at(271).toISOString(),
        now: at(288),
      }),
    );
    expect(slowed.delaySeconds).toBe(doubling(2));
    expect(slowed.expectedFinishAt).toBeDefined();
    // Without the missed prediction the same reading waits the maximum.
    expect(nextPoll(input({ progress: '20%', previousProgress: '8%', baseline, now: at(288) })).delaySeconds).toBe(300);
    // A prediction missed by a little (99 % read just before the end) still polls again soon.
    const nearly = nextPoll(
      input({
        progress: '99%',
        previousProgress: '90%',
        baseline,
        previousExpectedFinishAt: at(290).toISOString(),
        now: at(300),
      }),
    );
    expect(nearly.delaySeconds).toBe(10);
  });

  it('a finish far away waits the maximum interval; one due now waits the minimum', () => {
    const baseline = { percent: 1, at: at(0).toISOString() };
    expect(nextPoll(input({ progress: '2%', previousProgress: '1%', baseline, now: at(300) })).delaySeconds).toBe(300);
    expect(nextPoll(input({ progress: '99%', previousProgress: '98%', baseline, now: at(300) })).delaySeconds).toBe(10);
  });

  it('property: the delay stays within the bounds of today’s schedule, the estimate within its own', () => {
    const reading = fc.integer({ min: 0, max: 100 });
    fc.assert(
      fc.property(
        fc.record({
          polls: fc.integer({ min: 0, max: 50 }),
          status: fc.constantFrom('NotStarted', 'Running', 'Succeeded', 'Strange'),
          progress: fc.option(
            reading.map((percent) => `${percent}%`),
            { nil: undefined },
          ),
          previous: fc.option(
            reading.map((percent) => `${percent}%`),
            { nil: undefined },
          ),
          baseline: fc.option(fc.record({ percent: reading, secondsAgo: fc.integer({ min: 0, max: 7_200 }) }), {
            nil: undefined,
          }),
          random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        }),
        (drawn) => {
          const now = at(10_000);
          const plan = nextPoll(
            input({
              polls: drawn.polls,
              status: drawn.status,
              progress: drawn.progress,
              previousProgress: drawn.previous,
              baseline: drawn.baseline && {
                percent: drawn.baseline.percent,
                at: at(10_000 - drawn.baseline.secondsAgo).toISOString(),
              },
              now,
              random: () => drawn.random,
            }),
          );
          // Today's schedule spans 10 s × 0.8 to 300 s × 1.2 (±20 % jitter); an estimate stays in 10–300 s.
          expect(plan.delaySeconds).toBeGreaterThanOrEqual(8);
          expect(plan.delaySeconds).toBeLessThanOrEqual(360);
          if (plan.expectedFinishAt !== undefined) {
            expect(plan.delaySeconds).toBeGreaterThanOrEqual(10);
            expect(plan.delaySeconds).toBeLessThanOrEqual(300);
            expect(Date.parse(plan.expectedFinishAt)).toBeGreaterThanOrEqual(now.getTime());
          }
        },
      ),
    );
  });

  it('property: on a steady rate the poll lands after the finish, by at most the margin', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 30, max: 3_600 }),
        fc.integer({ min: 1, max: 98 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (lengthSeconds, percent, random) => {
          // Readings without rounding: at 0 s 0 %, now `percent` % of a steady `lengthSeconds` run.
          const elapsed = (lengthSeconds * percent) / 100;
          const remaining = lengthSeconds - elapsed;
          const plan = nextPoll(
            input({
              progress: `${percent}%`,
              previousProgress: '0%',
              baseline: { percent: 0, at: at(0).toISOString() },
              now: at(elapsed),
              random: () => random,
            }),
          );
          const latest = Math.min(300, Math.max(10, remaining + 7 + 0.06 * remaining));
          return plan.delaySeconds >= Math.min(300, remaining) && plan.delaySeconds <= latest;
        },
      ),
    );
  });
});
