import { randomUUID } from 'node:crypto';
import { scheduleBackfill, type BackfillQueue } from './backfill-schedule.js';
import type { Logger } from '../core/logging.js';
import { applyNativeMode, type NativeModeDependencies } from './native.js';
import type { PolicyChange, PolicyEffects, PolicyEffectsReport } from './ports.js';

export interface PolicyEffectsDependencies {
  /** ACR's switch for `mode: native` (lib/policy/native.ts). */
  readonly native: NativeModeDependencies;
  /** `{prefix}-backfill`, which `runBackfill` consumes. */
  readonly backfillQueue: BackfillQueue;
  readonly newRunId?: () => string;
}

/**
 * What a stored policy change does to the world: sets or clears ACR's `convertPushedImages` for the scope's
 * repositories when the change makes the scope native or takes it away from native, then schedules a backfill
 * when the change makes backfill active or changes what it would convert. Idempotent, so a retried request may
 * apply the same change again; transient ACR and storage failures are rethrown.
 */
export class AcrPolicyEffects implements PolicyEffects {
  private readonly newRunId: () => string;

  constructor(private readonly deps: PolicyEffectsDependencies) {
    this.newRunId = deps.newRunId ?? randomUUID;
  }

  async apply(change: PolicyChange, log: Logger): Promise<PolicyEffectsReport> {
    const native = await applyNativeMode(this.deps.native, change, log);
    const backfill = await scheduleBackfill(this.deps.backfillQueue, change, this.newRunId, log);
    return { ...(native === undefined ? {} : { native }), ...(backfill === undefined ? {} : { backfill }) };
  }
}
