import type { InvocationContext, Timer } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { TimerFunction } from '../lib/hosting/catalog.js';

/** Classifies every connected registry and alerts on transitions (stale, unhealthy, recovered). */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  await getDependencies().connectedAudit.run(context);
}

export const auditConnectedRegistries: TimerFunction = {
  name: 'auditConnectedRegistries',
  trigger: { type: 'timer', schedule: '%CONNECTED_AUDIT_SCHEDULE%' },
  handler,
};
