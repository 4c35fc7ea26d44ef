import { repositoryKey, type ConversionStatus, type ImageKey } from '../core/image.js';

export const terminalStatuses: ReadonlySet<ConversionStatus> = new Set([
  'Succeeded',
  'Failed',
  'TimedOut',
  'Canceled',
  'Deleted',
  'Skipped',
]);
export const inFlightStatuses: ReadonlySet<ConversionStatus> = new Set(['Pending', 'Running']);

export type ConversionSource = 'event' | 'manual' | 'backfill';

/**
 * The state of one image's conversion: one row per (registry, repository, digest). The row is also the lock —
 * every change is an ETag-conditional write — so duplicate events, several tags pushed at once, redelivered
 * queue messages and parallel instances all converge on one conversion.
 */
export interface ConversionRecord extends ImageKey {
  readonly status: ConversionStatus;
  readonly tags: readonly string[];
  readonly kind?: string;
  readonly mediaType?: string;
  readonly platforms?: string;
  readonly sizeBytes?: number;
  /** Why it is (or is not) being converted, in words. */
  readonly reason: string;
  readonly skipReason?: string;
  readonly policyScope?: string;
  /**
   * What the decision was made from (the applied policy's hash and the registry's readiness; `decisionBasis`): a
   * skipped image is decided again once either changes.
   */
  readonly decidedWith?: string;
  readonly source: ConversionSource;
  readonly operationId?: string;
  readonly operationStatus?: string;
  readonly progress?: string;
  /**
   * The current operation's first progress reading (percent, and when this app read it): the rate of progress is
   * measured from it (lib/conversion/poll-schedule.ts). Internal; not in the API view.
   */
  readonly progressBaselinePercent?: number;
  readonly progressBaselineAt?: string;
  /** When the observed rate of progress says the running conversion ends (ISO 8601); absent when unknown. */
  readonly expectedFinishAt?: string;
  /**
   * The conversion run this row is in: a new id whenever a run starts (the first claim, a restart by hand, a push
   * after a delete, a new decision); retries inside a run keep it. Outcome events carry it, so the outcome of a new
   * run is never mistaken for a repeat of the last one. Absent on rows written before runs had ids.
   */
  readonly generation?: string;
  /** Conversions requested from ACR for this image (POSTs); adoption of an ongoing one counts as one. */
  readonly attempts: number;
  readonly maxAttempts: number;
  /** Tracking polls of the current operation. */
  readonly polls: number;
  /** Transient ACR failures (429, 5xx, no answer) while tracking the current operation, each backed off. */
  readonly transientErrors?: number;
  /** Only the tracking message carrying this token may act; a new token retires older messages. */
  readonly trackingToken?: string;
  /**
   * Set when an attempt is reserved before its POST, cleared once the POST's outcome is recorded (Running, a retry
   * later, a final state). Still set on a re-drive: the worker stopped between the two, and whether the POST was
   * made is read from ACR (a newer operation of the digest). Also the reservation's own id, so a worker recognises its
   * reservation after a lost storage answer, and never another worker's.
   */
  readonly reservation?: string;
  /**
   * A push under a native policy whose ACR switch is on: ACR converts it itself, and the app follows ACR's operation
   * of the digest. Until this instant the app waits for ACR to show one; past it, ACR is taken not to convert the
   * image (it was pushed before the switch went on) and the app converts it. Cleared once an operation is followed
   * or started.
   */
  readonly awaitAcrUntil?: string;
  /** While in the future, one worker owns the start path; a crashed worker's lease simply runs out. */
  readonly leaseUntil?: string;
  readonly nextCheckAt?: string;
  readonly deadlineAt?: string;
  readonly lastErrorCode?: string;
  readonly lastErrorMessage?: string;
  readonly remediation?: string;
  readonly correlationId?: string;
  readonly lastEventId?: string;
  /**
   * The time (ISO 8601, ms) of the newest registry event this row acted on — the push that decided it, the delete
   * that ended it. Event Grid delivers out of order and again for up to a day, so an older delete never ends the row
   * and an older push never brings a Deleted row back (lifecycle rule `stale:ignore`). Absent on rows written
   * before it existed and on rows only requests without an event time (backfill, by hand) wrote.
   */
  readonly lastEventTime?: string;
  /** Who started this run by hand (`POST …/conversions`): the caller's object id. */
  readonly requestedBy?: string;
  /** Who canceled it (`POST …/cancel`): the caller's object id. */
  readonly canceledBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
}

/** Table keys: one partition per registry; the row key joins repository and digest (`/` is not allowed in keys). */
export function conversionKeys(key: ImageKey): { partitionKey: string; rowKey: string } {
  return { partitionKey: key.registry, rowKey: `${repositoryKey(key.repository)}@${key.digest}` };
}
