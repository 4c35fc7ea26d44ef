/**
 * Tracking polls: first after `first` seconds, then doubling to `max`, each ±20 % so many conversions started
 * together do not poll in lockstep. Fewer polls than the az CLI's 5 s + 1 s per poll schedule for any conversion
 * longer than a minute (measured in docs/benchmarks.md).
 */
export function pollDelaySeconds(
  polls: number,
  first: number,
  max: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(max, first * 2 ** Math.min(polls, 30));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}

/** Delay before conversion attempt `attempt + 1` (attempt counts from 1), exponential with ±20 % jitter. */
export function retryDelaySeconds(
  attempt: number,
  initial: number,
  max: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}
