/**
 * Every table, queue and blob container the app owns, derived from one prefix so several deployments (or test
 * runs) can share an account without touching each other's state. docs/architecture.md lists who writes each.
 */
export interface StorageResourceNames {
  readonly tables: {
    /** One row per (registry, repository, digest): the conversion state machine; the row is the lock. */
    readonly conversions: string;
    /** Per-repository streaming policies. */
    readonly policies: string;
    /** Append-only history of policy changes. */
    readonly policyHistory: string;
    /** Domain events waiting for alert delivery (transactional outbox). */
    readonly outbox: string;
    /** Audit runs, checkpoints and findings. */
    readonly audits: string;
    /** Alert deliveries per channel, dedup marks and burst windows. */
    readonly alerts: string;
  };
  readonly queues: {
    /** Conversion tracking: one message per in-flight operation, re-enqueued with backoff. */
    readonly tracking: string;
    /** Alert deliveries from the outbox. */
    readonly alerts: string;
    /** Bounded backfill work (existing images ACR never converts). */
    readonly backfill: string;
    /** Audit runs per registry, continued from checkpoints. */
    readonly audits: string;
  };
  readonly containers: {
    /** Compliance reports: reports/{registry}/{timestamp}/… */
    readonly reports: string;
  };
}

export function storageResourceNames(prefix: string): StorageResourceNames {
  return {
    tables: {
      conversions: `${prefix}Conversions`,
      policies: `${prefix}Policies`,
      policyHistory: `${prefix}PolicyHistory`,
      outbox: `${prefix}Outbox`,
      audits: `${prefix}Audits`,
      alerts: `${prefix}Alerts`,
    },
    queues: {
      tracking: `${prefix}-tracking`,
      alerts: `${prefix}-alerts`,
      backfill: `${prefix}-backfill`,
      audits: `${prefix}-audits`,
    },
    containers: {
      reports: `${prefix}-reports`,
    },
  };
}
