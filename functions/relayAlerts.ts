import type { InvocationContext, Timer } from '@azure/functions';
import type { TimerFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** Safety net for alerts: outbox events and deliveries whose queue message was lost are sent on. */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { alerts, config } = await appDependencies();
  const result = await alerts.relay(context, config.alerts.relayGraceSeconds);
  context.info(`alert relay: ${JSON.stringify(result)}`);
}

export const relayAlerts: TimerFunction = {
  name: 'relayAlerts',
  trigger: { type: 'timer', schedule: '%ALERT_RELAY_SCHEDULE%' },
  handler,
};
