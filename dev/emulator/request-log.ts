import type { ListenerInfo, RequestLogEntry } from './contract.js';

/**
 * Bounded in-memory request log (at least the newest `capacity` entries) for "exactly one POST" and cost assertions.
 */
export class RequestLog {
  #entries: RequestLogEntry[] = [];
  #sequence = 0;

  readonly #slack: number;

  constructor(private readonly capacity = 50_000) {
    this.#slack = Math.max(1, Math.floor(capacity / 10));
  }

  append(entry: Omit<RequestLogEntry, 'sequence'>): RequestLogEntry {
    const full: RequestLogEntry = { ...entry, sequence: ++this.#sequence };
    this.#entries.push(full);
    // Trimmed in slack-sized steps: trimming one entry per append would copy the whole log on every request.
    if (this.#entries.length > this.capacity + this.#slack)
      this.#entries.splice(0, this.#entries.length - this.capacity);
    return full;
  }

  /** `path` is a regular expression tested against the decoded path; `since` a sequence number (exclusive). */
  query(
    filter: { method?: string; path?: string; listener?: ListenerInfo['kind']; since?: number } = {},
  ): RequestLogEntry[] {
    const pattern = filter.path === undefined ? undefined : new RegExp(filter.path);
    return this.#entries.filter(
      (e) =>
        (filter.method === undefined || e.method === filter.method.toUpperCase()) &&
        (pattern === undefined || pattern.test(e.path)) &&
        (filter.listener === undefined || e.listener.kind === filter.listener) &&
        (filter.since === undefined || e.sequence > filter.since),
    );
  }

  clear(): void {
    this.#entries = [];
  }
}
