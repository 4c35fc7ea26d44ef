import type { InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { QueueFunction } from '../lib/hosting/catalog.js';

/** Turns outbox events into per-channel deliveries and sends them, each with its own retries. */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  await getDependencies().alerts.handle(message, context);
}

export const dispatchAlerts: QueueFunction = {
  name: 'dispatchAlerts',
  trigger: { type: 'storageQueue', queueName: '%STORAGE_PREFIX%-alerts', connection: 'AzureWebJobsStorage' },
  handler,
};
