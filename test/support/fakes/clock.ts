import type { Clock } from '../../../lib/core/clock.js';

/** A clock that only moves when the test says so. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(seconds: number): void {
    this.current += seconds * 1_000;
  }

  set(instant: Date | string): void {
    this.current = new Date(instant).getTime();
  }
}
