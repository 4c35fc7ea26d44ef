import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** Classifies every connected registry and alerts on transitions (stale, unhealthy, recovered). */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  await (await appDependencies()).connectedAudit.run(context);
}

export const auditConnectedRegistries: TimerFunction = {
  name: 'auditConnectedRegistries',
  trigger: { type: 'timer', schedule: '%CONNECTED_AUDIT_SCHEDULE%' },
  handler,
};
