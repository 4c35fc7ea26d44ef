import type { EmulatorClock } from '../../../dev/emulator/contract.js';

/** A manual virtual clock for tests: time moves only on advance(); due timers fire in order. */
export function createTestClock(start = new Date('2026-11-23T12:00:00.000Z')): EmulatorClock {
  let now = start.getTime();
  let nextId = 0;
  const timers = new Map<number, { due: number; callback: () => void }>();
  return {
    now: () => new Date(now),
    advance(milliseconds) {
      const target = now + milliseconds;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.due <= target).sort((a, b) => a[1].due - b[1].due)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].due;
        due[1].callback();
      }
      now = target;
    },
    setTimeout(callback, milliseconds) {
      const id = nextId++;
      timers.set(id, { due: now + milliseconds, callback });
      return { cancel: () => void timers.delete(id) };
    },
  };
}
