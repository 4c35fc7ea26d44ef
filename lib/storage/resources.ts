/**
 * Every table, queue and blob container the app owns, derived from one prefix so several deployments (or test
 * runs) can share an account without touching each other's state. docs/architecture.md lists who writes each.
 */

/**
 * The one rule for STORAGE_PREFIX: lib/config.ts validates the setting with it and infra/main.bicep writes the same
 * lengths and alphabets (test/unit/infra/parity.test.ts compares them and runs the same cases through both). It is
 * the narrowest of what the derived names need: table names are alphanumeric and start with a letter, queue and
 * container names are lowercase letters, digits and hyphens (`-tracking-poison` adds 15 to the 63 allowed).
 */
export const storagePrefixRule = {
  minLength: 3,
  maxLength: 20,
  first: 'abcdefghijklmnopqrstuvwxyz',
  rest: 'abcdefghijklmnopqrstuvwxyz0123456789',
} as const;

/** Whether `prefix` satisfies {@link storagePrefixRule}. */
export function isValidStoragePrefix(prefix: string): boolean {
  const { minLength, maxLength, first, rest } = storagePrefixRule;
  const chars = [...prefix];
  return (
    chars.length >= minLength &&
    chars.length <= maxLength &&
    first.includes(chars[0] ?? '') &&
    chars.every((c) => rest.includes(c))
  );
}

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
    /** Per registry, until when ACR throttles it: shared by every instance (lib/registry/throttle.ts). */
    readonly throttle: string;
    /** Per (registry, cluster), what the consumer audit last saw: pull, pools that stream, open alerts. */
    readonly consumers: string;
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
      throttle: `${prefix}Throttle`,
      consumers: `${prefix}Consumers`,
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
