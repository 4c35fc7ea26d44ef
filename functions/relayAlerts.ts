import type { InvocationContext, Timer } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { TimerFunction } from '../lib/hosting/catalog.js';

/** Safety net for alerts: outbox events and deliveries whose queue message was lost are sent on. */
async function handler(_timer: Timer, context: InvocationContext): Promise<void> {
  const { alerts, config } = getDependencies();
  const result = await alerts.relay(context, config.alerts.relayGraceSeconds);
  context.info(`alert relay: ${JSON.stringify(result)}`);
}

export const relayAlerts: TimerFunction = {
  name: 'relayAlerts',
  trigger: { type: 'timer', schedule: '%ALERT_RELAY_SCHEDULE%' },
  handler,
};
