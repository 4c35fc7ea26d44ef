import type { AuditRun, ConnectedRegistryRecord, StoredFinding } from './model.js';

/**
 * Audit state: findings per repository, runs and connected-registry states (lib/storage/audit-store.ts implements
 * it). Run and state writes are ETag-conditional: saveRun answers undefined and saveConnectedState false when
 * another instance wrote first.
 */
export interface AuditStore {
  /** The findings of one repository, keyed by digest. */
  findingsOf(registry: string, repository: string): Promise<Map<string, StoredFinding>>;
  allFindings(registry: string): AsyncIterable<StoredFinding>;
  saveFindings(registry: string, repository: string, findings: readonly StoredFinding[]): Promise<void>;
  createRun(run: AuditRun): Promise<string>;
  getRun(registry: string, runId: string, startedAt: string): Promise<{ run: AuditRun; etag: string } | undefined>;
  saveRun(run: AuditRun, etag: string): Promise<string | undefined>;
  /** The most recent runs, newest first. */
  recentRuns(registry: string, count: number): Promise<AuditRun[]>;
  connectedStates(registry: string): Promise<Map<string, { record: ConnectedRegistryRecord; etag: string }>>;
  saveConnectedState(record: ConnectedRegistryRecord, etag: string | undefined): Promise<boolean>;
}
