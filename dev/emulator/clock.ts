import type { EmulatorClock } from './contract.js';

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Virtual clock. Time only moves through `advance()` unless real-time mode is on, in which case it also
 * follows the wall clock (virtual = anchor + elapsed wall time + everything advanced), so long-running dev
 * sessions see conversions finish without anyone calling `advance()`.
 */
export class VirtualClock implements EmulatorClock {
  #virtualAnchor: number;
  #wallAnchor = Date.now();
  #realTime: boolean;
  #timers: Timer[] = [];
  #seq = 0;
  #wallTimer: NodeJS.Timeout | undefined;

  constructor(options: { start?: Date; realTime?: boolean } = {}) {
    this.#virtualAnchor = (options.start ?? new Date()).getTime();
    this.#realTime = options.realTime ?? false;
  }

  get realTime(): boolean {
    return this.#realTime;
  }

  now(): Date {
    return new Date(this.#nowMs());
  }

  /** Switching re-anchors so that virtual time does not jump. */
  setRealTime(enabled: boolean): void {
    const current = this.#nowMs();
    this.#virtualAnchor = current;
    this.#wallAnchor = Date.now();
    this.#realTime = enabled;
    this.#armWallTimer();
  }

  advance(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0)
      throw new RangeError('advance() needs a non-negative number');
    const target = this.#nowMs() + milliseconds;
    // Step through due timers in order so each callback observes its own due time as "now"
    // (a conversion finishing at t+10s stamps t+10s, not the end of a 1-hour jump).
    for (;;) {
      const next = this.#nextDue();
      if (next === undefined || next.due > target) break;
      this.#setNow(next.due);
      this.#fire(next);
    }
    this.#setNow(target);
    this.#armWallTimer();
  }

  setTimeout(callback: () => void, milliseconds: number): { cancel(): void } {
    const timer: Timer = {
      due: this.#nowMs() + Math.max(0, milliseconds),
      seq: this.#seq++,
      callback,
      cancelled: false,
    };
    this.#timers.push(timer);
    this.#armWallTimer();
    return {
      cancel: () => {
        timer.cancelled = true;
        this.#timers = this.#timers.filter((t) => t !== timer);
      },
    };
  }

  /** Stops the wall-clock timer so the process can exit. */
  dispose(): void {
    if (this.#wallTimer) clearTimeout(this.#wallTimer);
    this.#wallTimer = undefined;
    this.#timers = [];
  }

  #nowMs(): number {
    return this.#realTime ? this.#virtualAnchor + (Date.now() - this.#wallAnchor) : this.#virtualAnchor;
  }

  #setNow(ms: number): void {
    this.#virtualAnchor = ms;
    this.#wallAnchor = Date.now();
  }

  #nextDue(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  #fire(timer: Timer): void {
    this.#timers = this.#timers.filter((t) => t !== timer);
    if (!timer.cancelled) timer.callback();
  }

  #fireDue(): void {
    for (;;) {
      const next = this.#nextDue();
      if (next === undefined || next.due > this.#nowMs()) break;
      this.#fire(next);
    }
  }

  #armWallTimer(): void {
    if (this.#wallTimer) clearTimeout(this.#wallTimer);
    this.#wallTimer = undefined;
    if (!this.#realTime) return;
    this.#fireDue();
    const next = this.#nextDue();
    if (!next) return;
    this.#wallTimer = setTimeout(() => this.#armWallTimer(), Math.max(1, next.due - this.#nowMs()));
    this.#wallTimer.unref();
  }
}
