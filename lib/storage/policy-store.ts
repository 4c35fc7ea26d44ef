import { randomUUID } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { Versioned } from '../core/image.js';
import { pageSettings } from './paging.js';
import { isStatus } from './table-errors.js';
import { policySchema } from '../policy/model.js';
import type { DeleteOutcome, PolicyHistoryEntry, PolicyStore, StoredPolicy } from '../policy/ports.js';
import { scopeFromKey, scopeKey } from '../policy/scope.js';

interface PolicyEntity {
  partitionKey: string;
  rowKey: string;
  apiVersion: string;
  policy: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

interface HistoryEntity {
  partitionKey: string;
  rowKey: string;
  entry: string;
}

/**
 * Policies in Table Storage: PK = registry, RK = scope (`/` → `|`, `?` → `~`), the policy as JSON. Writes are
 * ETag-conditional. History: PK = `{registry}|{scope key}`, RK = inverted time + a uuid, so a page reads newest first.
 */
export class TablePolicyStore implements PolicyStore {
  constructor(
    private readonly policies: TableClient,
    private readonly history: TableClient,
  ) {}

  async get(registry: string, scope: string): Promise<Versioned<StoredPolicy> | undefined> {
    try {
      const entity = await this.policies.getEntity<PolicyEntity>(registry, scopeKey(scope));
      return { value: fromEntity(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Inserts; undefined when the scope already has a policy. */
  async create(policy: StoredPolicy): Promise<string | undefined> {
    try {
      return (await this.policies.createEntity(toEntity(policy))).etag;
    } catch (error) {
      if (isStatus(error, 409)) return undefined;
      throw error;
    }
  }

  /** Replaces when the ETag matches; undefined when it does not (412) or the policy is gone. */
  async replace(policy: StoredPolicy, etag: string): Promise<string | undefined> {
    try {
      return (await this.policies.updateEntity(toEntity(policy), 'Replace', { etag })).etag;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async delete(registry: string, scope: string, etag: string | undefined): Promise<DeleteOutcome> {
    try {
      await this.policies.deleteEntity(registry, scopeKey(scope), { etag: etag ?? '*' });
      return 'deleted';
    } catch (error) {
      if (isStatus(error, 412)) return 'precondition-failed';
      if (isStatus(error, 404)) return 'missing';
      throw error;
    }
  }

  async list(
    registry: string,
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: Versioned<StoredPolicy>[]; continuationToken?: string }> {
    const pages = this.policies
      .listEntities<PolicyEntity>({ queryOptions: { filter: odata`PartitionKey eq ${registry}` } })
      .byPage(pageSettings(page));
    const result = await pages.next();
    if (result.done === true) return { items: [] };
    const items = result.value.map((entity) => ({ value: fromEntity(entity), etag: entity.etag }));
    return result.value.continuationToken ? { items, continuationToken: result.value.continuationToken } : { items };
  }

  /** Every policy of a registry (a registry has tens, not thousands), for precedence. */
  async all(registry: string): Promise<StoredPolicy[]> {
    const policies: StoredPolicy[] = [];
    for await (const entity of this.policies.listEntities<PolicyEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${registry}` },
    }))
      policies.push(fromEntity(entity));
    return policies;
  }

  async appendHistory(entry: PolicyHistoryEntry): Promise<void> {
    const inverted = (9_999_999_999_999 - Date.parse(entry.time)).toString().padStart(13, '0');
    await this.history.createEntity<HistoryEntity>({
      partitionKey: historyPartition(entry.registry, entry.scope),
      rowKey: `${inverted}-${randomUUID()}`,
      entry: JSON.stringify(entry),
    });
  }

  async historyOf(
    registry: string,
    scope: string,
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: PolicyHistoryEntry[]; continuationToken?: string }> {
    const pages = this.history
      .listEntities<HistoryEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${historyPartition(registry, scope)}` },
      })
      .byPage(pageSettings(page));
    const result = await pages.next();
    if (result.done === true) return { items: [] };
    const items = result.value.map((entity) => JSON.parse(entity.entry) as PolicyHistoryEntry);
    return result.value.continuationToken ? { items, continuationToken: result.value.continuationToken } : { items };
  }
}

function historyPartition(registry: string, scope: string): string {
  return `${registry}|${scopeKey(scope)}`;
}

function toEntity(policy: StoredPolicy): PolicyEntity {
  return {
    partitionKey: policy.registry,
    rowKey: scopeKey(policy.scope),
    apiVersion: policy.apiVersion,
    policy: JSON.stringify(policy.policy),
    createdAt: policy.createdAt,
    createdBy: policy.createdBy,
    updatedAt: policy.updatedAt,
    updatedBy: policy.updatedBy,
  };
}

function fromEntity(entity: PolicyEntity): StoredPolicy {
  return {
    registry: entity.partitionKey,
    scope: scopeFromKey(entity.rowKey),
    apiVersion: entity.apiVersion,
    // Parsed again so defaults added in later versions apply to policies stored before them.
    policy: policySchema.parse(JSON.parse(entity.policy)),
    createdAt: entity.createdAt,
    createdBy: entity.createdBy,
    updatedAt: entity.updatedAt,
    updatedBy: entity.updatedBy,
  };
}
