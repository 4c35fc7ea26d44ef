import { z } from 'zod';
import type { Logger } from '../core/logging.js';
import type { Policy } from './model.js';
import type { PolicyChange } from './ports.js';

/*
 * A backfill is a policy's effect on images that existed before it: a policy change schedules the first run here,
 * and the conversion domain's BackfillWorker (lib/conversion/backfill.ts) performs the runs.
 */

/**
 * Where the next run of a backfill resumes: the repository (by name, so a repository created or deleted between
 * runs does not shift the position) and the last manifest examined there.
 */
export const backfillCursorSchema = z
  .object({
    repository: z.string().min(1).max(255),
    /** Digest of the last manifest examined in `repository` (newest first); absent: from its newest. */
    last: z.string().min(1).max(200).optional(),
  })
  .strict();
export type BackfillCursor = z.infer<typeof backfillCursorSchema>;

/** One message of `{prefix}-backfill`: a run of one policy scope's backfill. */
export const backfillMessageSchema = z
  .object({
    registry: z.string().min(1).max(50),
    scope: z.string().min(1).max(256),
    runId: z.string().min(1).max(64),
    /** 1 for the run the policy change scheduled, then one more per continuation (for logs). */
    run: z.number().int().min(1).default(1),
    cursor: backfillCursorSchema.optional(),
  })
  .strict();
export type BackfillMessage = z.input<typeof backfillMessageSchema>;

export interface BackfillQueue {
  send(message: BackfillMessage, delaySeconds: number): Promise<void>;
}

/** A policy whose backfill would convert something: enabled, and the policy is not off. */
export function backfillActive(policy: Policy | undefined): policy is Policy {
  return policy !== undefined && policy.backfill.enabled && policy.mode !== 'off';
}

/** The fields that change which existing images a backfill converts. */
function backfillRelevant(policy: Policy): string {
  return JSON.stringify([policy.mode, policy.tags, policy.untagged, policy.maxImageSizeGiB, policy.backfill]);
}

/**
 * Schedules the first run of a backfill for a policy change, when the change makes backfill active or changes
 * what it would convert (tag rules, platform-independent limits, `backfill` itself). A change that leaves all of
 * that as it was (a description, owners, alerts, a retried request) schedules nothing, so edits do not start
 * parallel chains; a chain already running reads the policy afresh at every run anyway.
 *
 * @returns undefined when the policy's backfill is not active; otherwise the run and whether it was scheduled
 *   (`runId` is empty when nothing was scheduled).
 */
export async function scheduleBackfill(
  queue: BackfillQueue,
  change: PolicyChange,
  newRunId: () => string,
  log: Logger,
): Promise<{ runId: string; scheduled: boolean } | undefined> {
  if (!backfillActive(change.after)) return undefined;
  if (backfillActive(change.before) && backfillRelevant(change.before) === backfillRelevant(change.after)) {
    log.info(`policy ${change.registry}/${change.scope}: backfill unchanged; no new run`, {
      registry: change.registry,
      scope: change.scope,
    });
    return { runId: '', scheduled: false };
  }
  const runId = newRunId();
  await queue.send({ registry: change.registry, scope: change.scope, runId, run: 1 }, 0);
  log.info(`policy ${change.registry}/${change.scope}: backfill ${runId} scheduled`, {
    registry: change.registry,
    scope: change.scope,
    runId,
  });
  return { runId, scheduled: true };
}
