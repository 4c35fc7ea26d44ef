import type { Versioned } from '../core/image.js';
import type { Logger } from '../core/logging.js';
import type { Policy } from './model.js';

/** A stored policy with who wrote it when; `policy` always has every field (defaults applied). */
export interface StoredPolicy {
  readonly registry: string;
  /** `_default`, a glob, or an exact repository, as given. */
  readonly scope: string;
  readonly apiVersion: string;
  readonly policy: Policy;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export interface PolicyHistoryEntry {
  readonly registry: string;
  readonly scope: string;
  readonly time: string;
  /** Object id (or name) of the caller. */
  readonly principal: string;
  /** The caller's display name or UPN, when it differs from `principal`. */
  readonly principalName?: string;
  readonly action: 'create' | 'replace' | 'patch' | 'delete';
  /** `applied`, or why the write did not happen (a lost ETag race is recorded too). */
  readonly outcome: 'applied' | 'precondition-failed' | 'conflict' | 'forbidden';
  /** Why a `forbidden` write was refused (the rule it broke). */
  readonly reason?: string;
  readonly before?: Policy;
  readonly after?: Policy;
}

/** What happened to a policy, for the effects that follow a change (native mode, backfill). */
export interface PolicyChange {
  readonly registry: string;
  readonly scope: string;
  readonly before: Policy | undefined;
  /** undefined when the policy was deleted. */
  readonly after: Policy | undefined;
  readonly principal: string;
}

/** Result of applying a change's effects, returned to the caller of the write. */
export interface PolicyEffectsReport {
  /** `mode: native`: the repositories whose ACR switch was set, as ACR reports it afterwards. */
  readonly native?: ReadonlyArray<{
    readonly repository: string;
    readonly convertPushedImages: boolean;
    readonly drift: boolean;
  }>;
  /** `backfill.enabled`: the backfill run that was scheduled. */
  readonly backfill?: { readonly runId: string; readonly scheduled: boolean };
}

/**
 * Effects of a policy change on the world: ACR's own switch for `mode: native`, and a bounded backfill of
 * existing images when `backfill.enabled`. Called after the change is stored; must be idempotent (a retried
 * request applies them again).
 */
export interface PolicyEffects {
  apply(change: PolicyChange, log: Logger): Promise<PolicyEffectsReport>;
}

export type DeleteOutcome = 'deleted' | 'precondition-failed' | 'missing';

/**
 * Stored policies and their history (lib/storage/policy-store.ts implements it). Writes are ETag-conditional:
 * create answers undefined when the scope already has a policy, replace when the ETag no longer matches.
 */
export interface PolicyStore {
  get(registry: string, scope: string): Promise<Versioned<StoredPolicy> | undefined>;
  create(policy: StoredPolicy): Promise<string | undefined>;
  replace(policy: StoredPolicy, etag: string): Promise<string | undefined>;
  /** Unconditional without an ETag. */
  delete(registry: string, scope: string, etag: string | undefined): Promise<DeleteOutcome>;
  list(
    registry: string,
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: Versioned<StoredPolicy>[]; continuationToken?: string }>;
  /** Every policy of a registry (tens, not thousands), for precedence. */
  all(registry: string): Promise<StoredPolicy[]>;
  appendHistory(entry: PolicyHistoryEntry): Promise<void>;
  /** Newest first. */
  historyOf(
    registry: string,
    scope: string,
    page: { pageSize: number; continuationToken?: string },
  ): Promise<{ items: PolicyHistoryEntry[]; continuationToken?: string }>;
}
