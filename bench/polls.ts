/**
 * Tracking cost: operation polls per conversion, and how late the end of a conversion is noticed, for the app's
 * schedule (lib/conversion/backoff.ts: 10 s doubling to 300 s, ±20 % jitter) against the az CLI's (`az acr
 * artifact-streaming create` without --no-wait: sleep 5 s, +1 s per poll up to ~21 s, back to 5 s whenever the status
 * or progress changes — docs/sources.md § ACR artifact streaming API) on the same simulated conversion lengths.
 *
 *   npx tsx bench/polls.ts
 *
 * ACR reports progress as it converts, so the CLI's delay keeps resetting while a conversion runs; both CLI cases
 * are shown (progress changing at every poll, and never). The app's jitter is averaged over 1,000 seeded runs.
 */
import { pollDelaySeconds } from '../lib/conversion/backoff.js';

const lengthsSeconds = [30, 120, 300, 900, 1_800, 3_600];

interface Schedule {
  polls: number;
  /** Seconds between the conversion finishing and the poll that sees it. */
  lateSeconds: number;
}

function app(lengthSeconds: number, random: () => number): Schedule {
  // The first poll is TRACKING_FIRST_POLL_SECONDS after the start; each later one waits pollDelaySeconds(polls).
  let time = 10;
  let polls = 1;
  while (time < lengthSeconds) {
    time += pollDelaySeconds(polls, 10, 300, random);
    polls++;
  }
  return { polls, lateSeconds: time - lengthSeconds };
}

function cli(lengthSeconds: number, progressChanges: boolean): Schedule {
  let time = 0;
  let sleep = 5;
  let polls = 0;
  while (time < lengthSeconds) {
    time += sleep;
    polls++;
    sleep = progressChanges ? 5 : Math.min(21, sleep + 1);
  }
  return { polls, lateSeconds: time - lengthSeconds };
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

console.log(
  '\n| conversion length | app polls | app late by (s) | CLI polls (progress changing) | CLI polls (no progress) | CLI late by (s) | app polls ÷ CLI polls (progress changing) |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const length of lengthsSeconds) {
  const runs = Array.from({ length: 1_000 }, (_, index) => app(length, seeded(index + 1)));
  const polls = runs.reduce((sum, run) => sum + run.polls, 0) / runs.length;
  const late = runs.reduce((sum, run) => sum + run.lateSeconds, 0) / runs.length;
  const busy = cli(length, true);
  const idle = cli(length, false);
  const label = length < 60 ? `${length} s` : `${length / 60} min`;
  console.log(
    `| ${label} | ${polls.toFixed(1)} | ${late.toFixed(0)} | ${busy.polls} | ${idle.polls} | ${busy.lateSeconds}–${idle.lateSeconds} | ${(polls / busy.polls).toFixed(2)} |`,
  );
}
