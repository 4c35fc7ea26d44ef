import type { Versioned } from '../../../lib/core/image.js';
import type { DeleteOutcome, PolicyHistoryEntry, PolicyStore, StoredPolicy } from '../../../lib/policy/ports.js';

/**
 * Policies in memory with the Table adapter's write rules (lib/storage/policy-store.ts): create answers undefined
 * when the scope has a policy, replace and a conditional delete only the version named. History newest first.
 */
export class MemoryPolicyStore implements PolicyStore {
  readonly rows = new Map<string, Versioned<StoredPolicy>>();
  readonly historyEntries: PolicyHistoryEntry[] = [];
  #version = 0;

  get(registry: string, scope: string): Promise<Versioned<StoredPolicy> | undefined> {
    return Promise.resolve(this.rows.get(`${registry}/${scope}`));
  }

  create(policy: StoredPolicy): Promise<string | undefined> {
    const key = `${policy.registry}/${policy.scope}`;
    if (this.rows.has(key)) return Promise.resolve(undefined);
    return Promise.resolve(this.#put(key, policy));
  }

  replace(policy: StoredPolicy, etag: string): Promise<string | undefined> {
    const key = `${policy.registry}/${policy.scope}`;
    if (this.rows.get(key)?.etag !== etag) return Promise.resolve(undefined);
    return Promise.resolve(this.#put(key, policy));
  }

  delete(registry: string, scope: string, etag: string | undefined): Promise<DeleteOutcome> {
    const key = `${registry}/${scope}`;
    const row = this.rows.get(key);
    if (row === undefined) return Promise.resolve('missing');
    if (etag !== undefined && row.etag !== etag) return Promise.resolve('precondition-failed');
    this.rows.delete(key);
    return Promise.resolve('deleted');
  }

  list(registry: string): Promise<{ items: Versioned<StoredPolicy>[] }> {
    return Promise.resolve({ items: [...this.rows.values()].filter((row) => row.value.registry === registry) });
  }

  all(registry: string): Promise<StoredPolicy[]> {
    return Promise.resolve(
      [...this.rows.values()].filter((row) => row.value.registry === registry).map((row) => row.value),
    );
  }

  appendHistory(entry: PolicyHistoryEntry): Promise<void> {
    this.historyEntries.unshift(entry);
    return Promise.resolve();
  }

  historyOf(registry: string, scope: string): Promise<{ items: PolicyHistoryEntry[] }> {
    return Promise.resolve({
      items: this.historyEntries.filter((entry) => entry.registry === registry && entry.scope === scope),
    });
  }

  #put(key: string, policy: StoredPolicy): string {
    const etag = `W/"${++this.#version}"`;
    this.rows.set(key, { value: policy, etag });
    return etag;
  }
}
