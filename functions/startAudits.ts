import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** Starts the missing-streaming-artifact audit of every configured registry. */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { config, imageAudit } = await appDependencies();
  for (const registry of config.registries) await imageAudit.start(registry.name, context);
}

export const startAudits: TimerFunction = {
  name: 'startAudits',
  trigger: { type: 'timer', schedule: '%AUDIT_SCHEDULE%' },
  handler,
};
