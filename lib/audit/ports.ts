import type { AuditRun, ConnectedRegistryRecord, StoredFinding, StoredFindings } from './model.js';

/**
 * Audit state: findings per repository, runs and connected-registry states (lib/storage/audit-store.ts implements
 * it). Run and state writes are ETag-conditional: saveRun answers undefined and saveConnectedState false when
 * another instance wrote first.
 */
export interface AuditStore {
  /** The findings of one repository, keyed by digest. */
  findingsOf(registry: string, repository: string): Promise<StoredFindings>;
  allFindings(registry: string): AsyncIterable<StoredFinding>;
  /** Writes (replaces) findings; the audit passes only those that changed (issue #19 § 4). */
  saveFindings(registry: string, repository: string, findings: readonly StoredFinding[]): Promise<void>;
  /** Deletes findings of one repository by digest; a digest already gone is no error (deliveries repeat). */
  deleteFindings(registry: string, repository: string, digests: readonly string[]): Promise<void>;
  /**
   * The repositories that may hold findings: every repository the audit wrote findings for since the index was
   * built, and (read once, when no index exists yet) the repositories of findings written before it.
   */
  findingRepositories(registry: string): Promise<Set<string>>;
  /** Records that a repository may hold findings; written before its first findings. */
  addFindingRepository(registry: string, repository: string): Promise<void>;
  /** Deletes all of a repository's findings, then its index entry. */
  deleteRepositoryFindings(registry: string, repository: string): Promise<void>;
  createRun(run: AuditRun): Promise<string>;
  getRun(registry: string, runId: string, startedAt: string): Promise<{ run: AuditRun; etag: string } | undefined>;
  saveRun(run: AuditRun, etag: string): Promise<string | undefined>;
  /** The most recent runs, newest first. */
  recentRuns(registry: string, count: number): Promise<AuditRun[]>;
  connectedStates(registry: string): Promise<Map<string, { record: ConnectedRegistryRecord; etag: string }>>;
  saveConnectedState(record: ConnectedRegistryRecord, etag: string | undefined): Promise<boolean>;
}
