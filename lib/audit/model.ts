import type { ConnectedRegistryState, FindingStatus, ImageFinding } from '../reports/model.js';

/** A finding as stored: the report's finding plus when the streaming referrer was last seen. */
export interface StoredFinding extends ImageFinding {
  /** When ACR was last asked about this digest's streaming referrer (any status); drives re-verification. */
  readonly verifiedAt?: string;
  readonly runId: string;
}

/**
 * One repository's stored findings, kept as the store's JSON text and parsed when asked for: the audit holds a whole
 * repository's (to compare with and to find those a listing no longer names), and text takes about a third of the
 * memory of parsed objects — what keeps a repository of 100k manifests inside the function's memory (issue #19 § 4).
 */
export class StoredFindings {
  private readonly text = new Map<string, string>();
  private oldest: number | undefined;

  /** Adds a finding as stored (JSON of a StoredFinding). */
  add(json: string): void {
    const { digest, checkedAt } = JSON.parse(json) as StoredFinding;
    this.text.set(digest, json);
    const checked = Date.parse(checkedAt);
    if (Number.isFinite(checked) && (this.oldest === undefined || checked < this.oldest)) this.oldest = checked;
  }

  get(digest: string): StoredFinding | undefined {
    const json = this.text.get(digest);
    return json === undefined ? undefined : (JSON.parse(json) as StoredFinding);
  }

  has(digest: string): boolean {
    return this.text.has(digest);
  }

  delete(digest: string): boolean {
    return this.text.delete(digest);
  }

  get size(): number {
    return this.text.size;
  }

  keys(): IterableIterator<string> {
    return this.text.keys();
  }

  *values(): IterableIterator<StoredFinding> {
    for (const json of this.text.values()) yield JSON.parse(json) as StoredFinding;
  }

  /** When the oldest of the findings added was checked; undefined when none was. */
  oldestCheck(): Date | undefined {
    return this.oldest === undefined ? undefined : new Date(this.oldest);
  }
}

export interface AuditCounters extends FindingTally {
  readonly repositories: number;
  readonly repositoriesWithPolicy: number;
  /** Repositories no stored policy matches (the DEFAULT_POLICY setting governs them); absent in older runs. */
  readonly repositoriesOnDefault?: number;
  readonly examined: number;
  readonly referrerChecks: number;
  readonly backfilled: number;
  /** Repositories whose ACR switch was read (issue #15), set back to what the policy says, or still drifted. */
  readonly switchChecks: number;
  readonly switchRepairs: number;
  readonly switchDrift: number;
}

export const zeroCounters: AuditCounters = {
  repositories: 0,
  repositoriesWithPolicy: 0,
  repositoriesOnDefault: 0,
  examined: 0,
  eligible: 0,
  streamable: 0,
  missing: 0,
  failed: 0,
  inProgress: 0,
  ineligible: 0,
  referrerChecks: 0,
  backfilled: 0,
  switchChecks: 0,
  switchRepairs: 0,
  switchDrift: 0,
};

export interface AuditRun {
  readonly registry: string;
  readonly runId: string;
  readonly startedAt: string;
  readonly completedAt?: string;
  readonly complete: boolean;
  readonly counters: AuditCounters;
  /** Who started the run by hand (`POST /api/audits`): the caller's object id; absent for the schedule's runs. */
  readonly requestedBy?: string;
  /** Repositories ACR refused to list or read for good in this run (they were skipped; the rest went on). */
  readonly unreadable?: readonly string[];
  /**
   * ACR refused for good to list the registry's repositories (the identity's roles do not include listing the
   * catalog: on ABAC-mode registries that is Container Registry Repository Catalog Lister); nothing was audited.
   */
  readonly catalogRefused?: string;
  /**
   * Where the next continuation starts (a checkpoint per repository); `switchChecked` when that repository's ACR
   * switch was already checked by this run, so a continuation does not check (and count) it twice.
   */
  readonly cursor?: { readonly repository: string; readonly last?: string; readonly switchChecked?: boolean };
}

export interface ConnectedRegistryRecord {
  readonly registry: string;
  readonly name: string;
  readonly state: ConnectedRegistryState;
  readonly since: string;
  readonly reason?: string;
}

/** The per-status counts a finding adds to (audit counters, a repository's coverage). */
export interface FindingTally {
  readonly eligible: number;
  readonly streamable: number;
  readonly missing: number;
  readonly failed: number;
  readonly inProgress: number;
  readonly ineligible: number;
}

/** Adds one finding of a status to a tally: everything but `ineligible` is eligible. */
export function countFinding<T extends FindingTally>(tally: T, status: FindingStatus): T {
  const field: keyof FindingTally =
    status === 'converted'
      ? 'streamable'
      : status === 'missing'
        ? 'missing'
        : status === 'failed'
          ? 'failed'
          : status === 'ineligible'
            ? 'ineligible'
            : 'inProgress';
  return { ...tally, [field]: tally[field] + 1, ...(status === 'ineligible' ? {} : { eligible: tally.eligible + 1 }) };
}
