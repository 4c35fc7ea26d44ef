import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/logging.js';

/**
 * ACR limits requests per registry: the tiers' "ReadOps / WriteOps per minute" are a registry's, and beyond them it
 * answers `429 Too many requests` (docs/sources.md § ACR throttling: learn.microsoft.com container-registry-skus and
 * container-registry-troubleshoot-performance). That the limit counts all callers together is A16. One instance
 * meeting a 429 therefore tells every instance to wait: they share one short-lived "throttled until" per registry.
 */

/** A registry's shared "throttled until" as stored, with the ETag its conditional replace needs. */
export interface ThrottleRecord {
  /** Epoch ms before which no request should be sent to the registry (A17: instances' clocks agree). */
  readonly until: number;
  readonly etag: string;
}

/** Where the records live (one small Table entity per registry in Azure). */
export interface ThrottleRecordStore {
  read(registry: string): Promise<ThrottleRecord | undefined>;
  /**
   * Creates the record (no `etag`) or replaces it while its ETag still matches; false when another writer got there
   * first, so the caller re-reads and decides again.
   */
  write(registry: string, until: number, etag: string | undefined): Promise<boolean>;
}

export type ThrottleWrite =
  { readonly kind: 'keep' } | { readonly kind: 'write'; readonly until: number; readonly etag: string | undefined };

/**
 * The record's merge rule: it only ever moves later. A wait that ends no later than the stored one changes nothing
 * (another instance's longer wait stands); a later one replaces it, conditionally on the ETag read.
 */
export function decideThrottleWrite(stored: ThrottleRecord | undefined, proposedUntil: number): ThrottleWrite {
  if (stored !== undefined && stored.until >= proposedUntil) return { kind: 'keep' };
  return { kind: 'write', until: proposedUntil, etag: stored?.etag };
}

/** What the transport of one registry asks before each request and tells after a 429. */
export interface RegistryThrottle {
  /** Epoch ms before which no request should be sent (0 or past: none). Reads storage at most once per cache period. */
  throttledUntil(): Promise<number>;
  /** ACR asked this instance to wait until `until` (epoch ms): wait here at once, and tell the others. Never throws. */
  throttled(until: number): void;
}

export interface SharedThrottleOptions {
  readonly store: ThrottleRecordStore;
  readonly log: Logger;
  /** How long a read of the record is reused before storage is asked again. */
  readonly cacheMs?: number;
  /**
   * How long a request waits for a read of the record before it goes on with what this instance knows (the read
   * still lands in the cache): storage that is slow or retrying must not slow every ACR request down.
   */
  readonly readWaitMs?: number;
  /** A wait longer than this from now is cut to it (a bad `Retry-After` or record must not stall a registry). */
  readonly maxWaitMs?: number;
  readonly now?: () => number;
}

const writeAttempts = 5;

/**
 * One registry's throttle shared through {@link ThrottleRecordStore}, with an in-memory copy reused for `cacheMs`
 * (1.5 s by default: one Table read per registry and instance every 1.5 s at most, not one per ACR request). A storage
 * failure never stops a request: it is logged and the instance goes on with what it saw itself (per-instance backoff).
 */
export class SharedRegistryThrottle implements RegistryThrottle {
  private known = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<number> | undefined;
  /** The latest wait not yet written, and the write in progress (one at a time per registry and instance). */
  private pending = 0;
  private writing: Promise<void> | undefined;
  private readonly cacheMs: number;
  private readonly readWaitMs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;

  constructor(
    private readonly registry: string,
    private readonly options: SharedThrottleOptions,
  ) {
    this.cacheMs = options.cacheMs ?? 1_500;
    this.readWaitMs = options.readWaitMs ?? 500;
    this.maxWaitMs = options.maxWaitMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  async throttledUntil(): Promise<number> {
    if (this.now() - this.readAt < this.cacheMs) return this.known;
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    const timer = new AbortController();
    try {
      return await Promise.race([this.reading, sleep(this.readWaitMs, this.known, { signal: timer.signal })]);
    } finally {
      timer.abort();
    }
  }

  throttled(until: number): void {
    const capped = Math.min(until, this.now() + this.maxWaitMs);
    this.known = Math.max(this.known, capped);
    if (capped <= this.pending) return;
    this.pending = capped;
    this.writing ??= this.writeAll().finally(() => (this.writing = undefined));
  }

  /** Resolves when every wait told so far has been written (or given up on): for tests and orderly shutdown. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async read(): Promise<number> {
    try {
      const record = await this.options.store.read(this.registry);
      if (record) this.known = Math.max(this.known, Math.min(record.until, this.now() + this.maxWaitMs));
    } catch (error) {
      this.options.log.warn(`throttle: could not read ${this.registry}'s shared record: ${describe(error)}`);
    }
    // A failed read is not retried before the period ends either: storage in trouble is not asked per request.
    this.readAt = this.now();
    return this.known;
  }

  private async writeAll(): Promise<void> {
    let written = 0;
    while (this.pending > written) {
      const until = this.pending;
      await this.write(until);
      written = until;
    }
  }

  private async write(until: number): Promise<void> {
    try {
      for (let attempt = 0; attempt < writeAttempts; attempt++) {
        const stored = await this.options.store.read(this.registry);
        const decision = decideThrottleWrite(stored, until);
        if (decision.kind === 'keep') {
          this.known = Math.max(this.known, Math.min(stored!.until, this.now() + this.maxWaitMs));
          return;
        }
        // A conflict means another instance wrote in between: read again and decide again.
        if (await this.options.store.write(this.registry, decision.until, decision.etag)) return;
      }
      this.options.log.warn(`throttle: ${this.registry}'s shared record kept changing; this wait stays local`);
    } catch (error) {
      this.options.log.warn(`throttle: could not share ${this.registry}'s wait: ${describe(error)}`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : String(error);
}
