import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/**
 * Classifies the AKS clusters in scope against every registry (can pull, which pools can stream) and alerts on
 * transitions (consumer.cannotStream, consumer.pullLost, consumer.recovered); nothing when no scope is configured.
 */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  await (await appDependencies()).consumerAudit.run(context);
}

export const auditConsumers: TimerFunction = {
  name: 'auditConsumers',
  trigger: { type: 'timer', schedule: '%CONSUMER_AUDIT_SCHEDULE%' },
  handler,
};
