import { describe, expect, it } from 'vitest';
import {
  decideThrottleWrite,
  SharedRegistryThrottle,
  type ThrottleRecord,
  type ThrottleRecordStore,
} from '../../../../lib/registry/throttle.js';
import type { Logger } from '../../../../lib/core/logging.js';

/** One registry's record with ETags, as Table Storage keeps it; `beforeWrite` lets a test play another instance. */
class MemoryThrottleStore implements ThrottleRecordStore {
  record: ThrottleRecord | undefined;
  reads = 0;
  writes = 0;
  #version = 0;
  beforeWrite: (() => void) | undefined;

  read(): Promise<ThrottleRecord | undefined> {
    this.reads++;
    return Promise.resolve(this.record);
  }

  write(_registry: string, until: number, etag: string | undefined): Promise<boolean> {
    this.beforeWrite?.();
    this.beforeWrite = undefined;
    if (etag !== this.record?.etag) return Promise.resolve(false);
    this.writes++;
    this.record = { until, etag: `v${++this.#version}` };
    return Promise.resolve(true);
  }

  /** Another instance's write. */
  put(until: number): void {
    this.record = { until, etag: `v${++this.#version}` };
  }
}

const failingStore: ThrottleRecordStore = {
  read: () => Promise.reject(new Error('storage unavailable')),
  write: () => Promise.reject(new Error('storage unavailable')),
};

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => undefined;
  return {
    warnings,
    trace: ignore,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (m: unknown) => warnings.push(String(m)),
  };
}

describe('decideThrottleWrite: the shared record only moves later', () => {
  it('creates the record when there is none', () => {
    expect(decideThrottleWrite(undefined, 5_000)).toEqual({ kind: 'write', until: 5_000, etag: undefined });
  });

  it('extends an earlier record, conditionally on the ETag read', () => {
    expect(decideThrottleWrite({ until: 4_000, etag: 'e1' }, 5_000)).toEqual({
      kind: 'write',
      until: 5_000,
      etag: 'e1',
    });
  });

  it('never shortens a later or equal record', () => {
    expect(decideThrottleWrite({ until: 6_000, etag: 'e1' }, 5_000)).toEqual({ kind: 'keep' });
    expect(decideThrottleWrite({ until: 5_000, etag: 'e1' }, 5_000)).toEqual({ kind: 'keep' });
  });
});

describe('SharedRegistryThrottle', () => {
  it('shares a 429 wait: another instance reading the store waits until the same time', async () => {
    const store = new MemoryThrottleStore();
    const log = recordingLogger();
    const first = new SharedRegistryThrottle('contoso', { store, log, now: () => 1_000 });
    const second = new SharedRegistryThrottle('contoso', { store, log, now: () => 1_000 });

    first.throttled(4_000);
    await first.settled();

    expect(await second.throttledUntil()).toBe(4_000);
    expect(store.record?.until).toBe(4_000);
  });

  it('on a conflict reads again and decides again: a longer wait written meanwhile stands and is adopted', async () => {
    const store = new MemoryThrottleStore();
    const throttle = new SharedRegistryThrottle('contoso', { store, log: recordingLogger(), now: () => 1_000 });
    store.beforeWrite = () => store.put(9_000);

    throttle.throttled(4_000);
    await throttle.settled();

    expect(store.record?.until).toBe(9_000);
    expect(await throttle.throttledUntil()).toBe(9_000);
  });

  it('on a conflict with a shorter wait written meanwhile, writes its own longer one over it', async () => {
    const store = new MemoryThrottleStore();
    const throttle = new SharedRegistryThrottle('contoso', { store, log: recordingLogger(), now: () => 1_000 });
    store.beforeWrite = () => store.put(2_000);

    throttle.throttled(4_000);
    await throttle.settled();

    expect(store.record?.until).toBe(4_000);
  });

  it('reads the record at most once per cache period, however many requests ask', async () => {
    const store = new MemoryThrottleStore();
    let now = 1_000;
    const throttle = new SharedRegistryThrottle('contoso', {
      store,
      log: recordingLogger(),
      cacheMs: 1_500,
      now: () => now,
    });

    await Promise.all([throttle.throttledUntil(), throttle.throttledUntil(), throttle.throttledUntil()]);
    now = 2_400;
    store.put(5_000);
    const cached = await throttle.throttledUntil();
    now = 2_600;
    const fresh = await throttle.throttledUntil();

    expect(store.reads).toBe(2);
    expect(cached).toBe(0);
    expect(fresh).toBe(5_000);
  });

  it('does not hold a request longer than readWaitMs for a slow read; the read still lands in the cache', async () => {
    let answer: (record: ThrottleRecord) => void = () => undefined;
    const slowStore: ThrottleRecordStore = {
      read: () => new Promise((resolve) => (answer = resolve)),
      write: () => Promise.resolve(true),
    };
    const throttle = new SharedRegistryThrottle('contoso', {
      store: slowStore,
      log: recordingLogger(),
      readWaitMs: 5,
      now: () => 1_000,
    });

    const meanwhile = await throttle.throttledUntil();
    answer({ until: 4_000, etag: 'e1' });

    expect(meanwhile).toBe(0);
    expect(await throttle.throttledUntil()).toBe(4_000);
  });

  it('cuts a wait longer than maxWaitMs (a bad Retry-After or record must not stall the registry)', async () => {
    const store = new MemoryThrottleStore();
    store.put(10_000_000);
    const throttle = new SharedRegistryThrottle('contoso', {
      store,
      log: recordingLogger(),
      maxWaitMs: 60_000,
      now: () => 1_000,
    });

    expect(await throttle.throttledUntil()).toBe(61_000);
  });

  it('a storage failure never fails a request: it is logged and the instance keeps its own wait', async () => {
    const log = recordingLogger();
    const throttle = new SharedRegistryThrottle('contoso', { store: failingStore, log, now: () => 1_000 });

    expect(await throttle.throttledUntil()).toBe(0);
    throttle.throttled(4_000);
    await throttle.settled();

    expect(await throttle.throttledUntil()).toBe(4_000);
    expect(log.warnings).toEqual([
      "throttle: could not read contoso's shared record: storage unavailable",
      "throttle: could not share contoso's wait: storage unavailable",
    ]);
  });
});
