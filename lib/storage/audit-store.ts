import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { repositoryKey } from '../core/image.js';
import type { AuditStore } from '../audit/ports.js';
import { StoredFindings, type AuditRun, type ConnectedRegistryRecord, type StoredFinding } from '../audit/model.js';
import type { Versioned } from '../core/image.js';
import type { SwitchDriftRecord, SwitchDriftStore } from '../policy/drift.js';
import { isStatus, writeConditionally } from './table-errors.js';

/** `@` is in neither a registry nor a repository name, so a registry's partitions are one key range. */
const findingPartition = (registry: string, repository: string): string => `f:${registry}@${repositoryKey(repository)}`;
const findingPartitions = (registry: string): string =>
  odata`PartitionKey ge ${`f:${registry}@`} and PartitionKey lt ${`f:${registry}A`}`;
/** The repositories of a registry that may hold findings (issue #19 § 4: how a vanished repository is found). */
const findingIndexPartition = (registry: string): string => `fi:${registry}`;
/** Present once the index covers findings written before it existed (the first read builds it). */
const indexBuiltKey = '!built';
const runPartition = (registry: string): string => `run:${registry}`;
const connectedPartition = (registry: string): string => `cr:${registry}`;
const driftPartition = (registry: string): string => `sw:${registry}`;
/** Newest first: the row key sorts by inverted start time. */
const runKey = (startedAt: string, runId: string): string =>
  `${(9_999_999_999_999 - Date.parse(startedAt)).toString().padStart(13, '0')}-${runId}`;

/**
 * Audit state in `{prefix}Audits`: findings (PK `f:{registry}@{repository key}`, RK digest), runs (PK
 * `run:{registry}`, RK inverted start time + run id), connected-registry states (PK `cr:{registry}`, RK name) and
 * ACR-switch drift episodes (PK `sw:{registry}`, RK repository key; only repositories that ever drifted).
 * Findings of one page of manifests that changed are written in one batch transaction (same partition, at most 100);
 * `fi:{registry}` indexes the repositories that hold findings (RK repository key), so the audit can delete the
 * findings of a repository gone from the catalog. A
 * partition per repository rather than per registry: one partition's writes are capped (2,000 entities/s in
 * Azure), and Azurite's upserts slow down linearly with the partition's size.
 */
export class TableAuditStore implements AuditStore, SwitchDriftStore {
  constructor(private readonly table: TableClient) {}

  /** The findings of one repository, keyed by digest (a repository's worth, never a registry's). */
  async findingsOf(registry: string, repository: string): Promise<StoredFindings> {
    const findings = new StoredFindings();
    const filter = odata`PartitionKey eq ${findingPartition(registry, repository)}`;
    for await (const entity of this.table.listEntities<{ finding: string }>({ queryOptions: { filter } }))
      findings.add(entity.finding);
    return findings;
  }

  async *allFindings(registry: string): AsyncIterable<StoredFinding> {
    for await (const entity of this.table.listEntities<{ finding: string }>({
      queryOptions: { filter: findingPartitions(registry) },
    })) {
      yield JSON.parse(entity.finding) as StoredFinding;
    }
  }

  /** Findings of one repository (one partition, so each 100 are one transaction). */
  async saveFindings(registry: string, repository: string, findings: readonly StoredFinding[]): Promise<void> {
    for (let start = 0; start < findings.length; start += 100) {
      const actions: TransactionAction[] = findings.slice(start, start + 100).map((finding) => [
        'upsert',
        {
          partitionKey: findingPartition(registry, repository),
          rowKey: finding.digest,
          status: finding.status,
          finding: JSON.stringify(finding),
        },
        'Replace',
      ]);
      await this.table.submitTransaction(actions);
    }
  }

  /** Deletes findings by digest, 100 to a transaction; a digest already gone (another delivery deleted it) is fine. */
  async deleteFindings(registry: string, repository: string, digests: readonly string[]): Promise<void> {
    const partitionKey = findingPartition(registry, repository);
    for (let start = 0; start < digests.length; start += 100) {
      const batch = digests.slice(start, start + 100);
      try {
        await this.table.submitTransaction(batch.map((rowKey) => ['delete', { partitionKey, rowKey }]));
      } catch (error) {
        // One missing row fails the whole transaction ("performing entity group transactions", Microsoft Learn,
        // rest/api/storageservices): delete them one by one instead.
        if (!isStatus(error, 404)) throw error;
        for (const rowKey of batch) await this.deleteIfPresent(partitionKey, rowKey);
      }
    }
  }

  async findingRepositories(registry: string): Promise<Set<string>> {
    const repositories = new Set<string>();
    let built = false;
    for await (const entity of this.table.listEntities<{ repository?: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${findingIndexPartition(registry)}` },
    })) {
      if (entity.rowKey === indexBuiltKey) built = true;
      else if (entity.repository !== undefined) repositories.add(entity.repository);
    }
    if (built) return repositories;
    // Findings written before the index existed: one scan of the registry's findings, once.
    for await (const entity of this.table.listEntities<{ finding: string }>({
      queryOptions: { filter: findingPartitions(registry) },
    })) {
      const { repository } = JSON.parse(entity.finding) as StoredFinding;
      if (!repositories.has(repository)) await this.addFindingRepository(registry, repository);
      repositories.add(repository);
    }
    await this.table.upsertEntity({ partitionKey: findingIndexPartition(registry), rowKey: indexBuiltKey }, 'Replace');
    return repositories;
  }

  async addFindingRepository(registry: string, repository: string): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: findingIndexPartition(registry), rowKey: repositoryKey(repository), repository },
      'Replace',
    );
  }

  async deleteRepositoryFindings(registry: string, repository: string): Promise<void> {
    const digests: string[] = [];
    for await (const entity of this.table.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${findingPartition(registry, repository)}`, select: ['RowKey'] },
    }))
      if (entity.rowKey !== undefined) digests.push(entity.rowKey);
    await this.deleteFindings(registry, repository, digests);
    await this.deleteIfPresent(findingIndexPartition(registry), repositoryKey(repository));
  }

  private async deleteIfPresent(partitionKey: string, rowKey: string): Promise<void> {
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  async createRun(run: AuditRun): Promise<string> {
    const { etag } = await this.table.createEntity({
      partitionKey: runPartition(run.registry),
      rowKey: runKey(run.startedAt, run.runId),
      run: JSON.stringify(run),
    });
    return etag ?? '';
  }

  async getRun(
    registry: string,
    runId: string,
    startedAt: string,
  ): Promise<{ run: AuditRun; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity<{ run: string }>(runPartition(registry), runKey(startedAt, runId));
      return { run: JSON.parse(entity.run) as AuditRun, etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Replaces a run's progress when the ETag matches; false when another worker moved it on. */
  async saveRun(run: AuditRun, etag: string): Promise<string | undefined> {
    try {
      return (
        await this.table.updateEntity(
          {
            partitionKey: runPartition(run.registry),
            rowKey: runKey(run.startedAt, run.runId),
            run: JSON.stringify(run),
          },
          'Replace',
          { etag },
        )
      ).etag;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** The most recent runs, newest first. */
  async recentRuns(registry: string, count: number): Promise<AuditRun[]> {
    const runs: AuditRun[] = [];
    for await (const entity of this.table.listEntities<{ run: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${runPartition(registry)}` },
    })) {
      runs.push(JSON.parse(entity.run) as AuditRun);
      if (runs.length >= count) break;
    }
    return runs;
  }

  async connectedStates(registry: string): Promise<Map<string, { record: ConnectedRegistryRecord; etag: string }>> {
    const states = new Map<string, { record: ConnectedRegistryRecord; etag: string }>();
    for await (const entity of this.table.listEntities<{ record: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${connectedPartition(registry)}` },
    })) {
      const record = JSON.parse(entity.record) as ConnectedRegistryRecord;
      states.set(record.name, { record, etag: entity.etag });
    }
    return states;
  }

  /** Records a connected registry's state; false when another instance recorded a change first. */
  async saveConnectedState(record: ConnectedRegistryRecord, etag: string | undefined): Promise<boolean> {
    const entity = {
      partitionKey: connectedPartition(record.registry),
      rowKey: record.name,
      record: JSON.stringify(record),
    };
    return writeConditionally(this.table, entity, etag);
  }

  /** The latest drift episode of every repository of a registry that ever drifted (one small partition). */
  async driftRecords(registry: string): Promise<Map<string, Versioned<SwitchDriftRecord>>> {
    const records = new Map<string, Versioned<SwitchDriftRecord>>();
    for await (const entity of this.table.listEntities<{ record: string }>({
      queryOptions: { filter: odata`PartitionKey eq ${driftPartition(registry)}` },
    })) {
      const record = JSON.parse(entity.record) as SwitchDriftRecord;
      records.set(record.repository, { value: record, etag: entity.etag });
    }
    return records;
  }

  async driftRecord(registry: string, repository: string): Promise<Versioned<SwitchDriftRecord> | undefined> {
    try {
      const entity = await this.table.getEntity<{ record: string }>(
        driftPartition(registry),
        repositoryKey(repository),
      );
      return { value: JSON.parse(entity.record) as SwitchDriftRecord, etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Creates (no ETag) or replaces (on its ETag) a repository's drift record; false when another wrote first. */
  async saveDriftRecord(record: SwitchDriftRecord, etag: string | undefined): Promise<boolean> {
    const entity = {
      partitionKey: driftPartition(record.registry),
      rowKey: repositoryKey(record.repository),
      state: record.state,
      record: JSON.stringify(record),
    };
    return writeConditionally(this.table, entity, etag);
  }
}
