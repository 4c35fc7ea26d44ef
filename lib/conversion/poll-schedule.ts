import { pollDelaySeconds } from './backoff.js';

/**
 * When to poll a running conversion next: at the finish its observed rate of progress predicts, plus a margin,
 * within today's bounds (the first poll's delay and the maximum interval). ACR reports a running operation's
 * progress as a percentage string ("37%", docs/sources.md § ACR artifact streaming API); that it rises roughly in
 * proportion to time is docs/assumptions.md A15. Without a usable reading — NotStarted, a status this app does not
 * know, no progress, an unparseable one, the first reading of an operation, or no gain since the last poll (a
 * stall) — the next poll follows the doubling schedule (`pollDelaySeconds`), so a stalled conversion costs no more
 * polls than before. Once an estimate has proved wrong (its end has passed and ACR still converts), the rate is not
 * trusted to wait longer than that schedule would: progress that slowed down or stalled between two polls looks
 * like a slow rate, not a stall.
 */

/** The first progress reading of an operation: the rate is measured from it (own clock, never ACR's `startTime`). */
export interface ProgressReading {
  readonly percent: number;
  /** ISO 8601, this app's clock. */
  readonly at: string;
}

export interface PollScheduleInput {
  /** Polls of the operation so far (the next one is `polls + 1`). */
  readonly polls: number;
  readonly status: string;
  /** ACR's reading now. */
  readonly progress: string | undefined;
  /** ACR's reading at the previous poll of the same operation; undefined at its first poll. */
  readonly previousProgress: string | undefined;
  /** The operation's first reading; undefined at its first poll. */
  readonly baseline: ProgressReading | undefined;
  /** The end the previous poll's estimate predicted (ISO 8601), if it made one. */
  readonly previousExpectedFinishAt: string | undefined;
  readonly now: Date;
  readonly firstPollSeconds: number;
  readonly maxPollSeconds: number;
  /** In [0, 1): jitter. */
  readonly random: () => number;
}

export interface PollSchedule {
  readonly delaySeconds: number;
  /** The reading to measure the next rate from (kept on the row). */
  readonly baseline: ProgressReading | undefined;
  /** When the observed rate says the conversion ends; undefined when the delay did not come from an estimate. */
  readonly expectedFinishAt: string | undefined;
}

/**
 * The margin past the estimate: a fixed part for ACR's whole-percent readings and the poll's own latency, and a
 * share of the time still to go, which an early estimate gets wrong most. Polling a little late costs lateness;
 * polling a little early costs a whole extra poll.
 */
const marginSeconds = 5;
const marginShare = 0.05;

/** "37%" → 37; anything else (absent, "n/a", "120%") → undefined. */
export function parsePercent(progress: string | undefined): number | undefined {
  const match = progress === undefined ? null : /^\s*(\d{1,3}(?:\.\d+)?)\s*%\s*$/.exec(progress);
  if (!match?.[1]) return undefined;
  const percent = Number(match[1]);
  return percent <= 100 ? percent : undefined;
}

export function nextPoll(input: PollScheduleInput): PollSchedule {
  const fallback = (baseline: ProgressReading | undefined): PollSchedule => ({
    delaySeconds: pollDelaySeconds(input.polls + 1, input.firstPollSeconds, input.maxPollSeconds, input.random),
    baseline,
    expectedFinishAt: undefined,
  });
  const percent = parsePercent(input.progress);
  if (input.status !== 'Running' || percent === undefined) return fallback(input.baseline);
  const reading = { percent, at: input.now.toISOString() };
  // The first reading, or one below the first (ACR started over): there is no rate yet.
  if (input.baseline === undefined || percent < input.baseline.percent) return fallback(reading);
  const previous = parsePercent(input.previousProgress);
  if (previous !== undefined && percent <= previous) return fallback(input.baseline);
  const elapsedSeconds = (input.now.getTime() - Date.parse(input.baseline.at)) / 1000;
  const gained = percent - input.baseline.percent;
  if (!(elapsedSeconds > 0) || gained <= 0) return fallback(input.baseline);
  const remainingSeconds = ((100 - percent) * elapsedSeconds) / gained;
  const margin = (marginSeconds + marginShare * remainingSeconds) * (0.8 + 0.4 * input.random());
  const estimated = Math.min(
    input.maxPollSeconds,
    Math.max(input.firstPollSeconds, Math.ceil(remainingSeconds + margin)),
  );
  const missed =
    input.previousExpectedFinishAt !== undefined && input.now.getTime() >= Date.parse(input.previousExpectedFinishAt);
  const delaySeconds = missed ? Math.min(estimated, fallback(undefined).delaySeconds) : estimated;
  return {
    delaySeconds,
    baseline: input.baseline,
    expectedFinishAt: new Date(input.now.getTime() + Math.round(remainingSeconds * 1000)).toISOString(),
  };
}
