/**
 * "Event Grid time": what retry delays, TTLs and the dead-letter delay are measured in. Two implementations:
 * - scaledTimeline(timeScale): real timers, every delay multiplied by timeScale (0.001 turns 10 s into 10 ms);
 * - clockTimeline(clock): the emulator's virtual clock, so `clock.advance()` drives retries deterministically.
 */
import { performance } from 'node:perf_hooks';
import type { EmulatorClock } from '../contract.js';

export interface Timeline {
  /** Current Event Grid time in milliseconds (monotonic, arbitrary origin). */
  now(): number;
  schedule(callback: () => void, milliseconds: number): { cancel(): void };
}

export function scaledTimeline(timeScale: number): Timeline {
  if (!(timeScale > 0)) throw new RangeError('timeScale must be > 0');
  return {
    now: () => performance.now() / timeScale,
    schedule(callback, milliseconds) {
      const timer = setTimeout(callback, Math.max(0, milliseconds * timeScale));
      return { cancel: () => clearTimeout(timer) };
    },
  };
}

export function clockTimeline(clock: EmulatorClock): Timeline {
  return {
    now: () => clock.now().getTime(),
    schedule: (callback, milliseconds) => clock.setTimeout(callback, milliseconds),
  };
}
