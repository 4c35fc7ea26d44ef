import type { Versioned } from '../../../lib/core/image.js';
import type { SwitchDriftRecord, SwitchDriftStore } from '../../../lib/policy/drift.js';

/**
 * Drift records in memory with the Table adapter's write rules: a save without an ETag creates (false when the
 * record exists), a save with one replaces only that version. `beforeSave` lets a test slip a rival write in.
 */
export class MemoryDriftStore implements SwitchDriftStore {
  readonly rows = new Map<string, Versioned<SwitchDriftRecord>>();
  beforeSave: (() => Promise<void>) | undefined;
  #version = 0;

  driftRecords(registry: string): Promise<Map<string, Versioned<SwitchDriftRecord>>> {
    return Promise.resolve(
      new Map(
        [...this.rows.values()]
          .filter((row) => row.value.registry === registry)
          .map((row) => [row.value.repository, row] as const),
      ),
    );
  }

  driftRecord(registry: string, repository: string): Promise<Versioned<SwitchDriftRecord> | undefined> {
    return Promise.resolve(this.rows.get(`${registry}/${repository}`));
  }

  async saveDriftRecord(record: SwitchDriftRecord, etag: string | undefined): Promise<boolean> {
    const hook = this.beforeSave;
    this.beforeSave = undefined;
    await hook?.();
    const key = `${record.registry}/${record.repository}`;
    const current = this.rows.get(key);
    if (etag === undefined ? current !== undefined : current?.etag !== etag) return false;
    this.rows.set(key, { value: record, etag: `v${++this.#version}` });
    return true;
  }
}
