import type { InvocationContext, Timer } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { TimerFunction } from '../lib/hosting/catalog.js';

/** Starts the missing-streaming-artifact audit of every configured registry. */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { config, imageAudit } = getDependencies();
  for (const registry of config.registries) await imageAudit.start(registry.name, context);
}

export const startAudits: TimerFunction = {
  name: 'startAudits',
  trigger: { type: 'timer', schedule: '%AUDIT_SCHEDULE%' },
  handler,
};
