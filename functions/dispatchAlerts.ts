import type { InvocationContext } from '@azure/functions';
import type { QueueFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** Turns outbox events into per-channel deliveries and sends them, each with its own retries. */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  await (await appDependencies()).alerts.handle(message, context);
}

export const dispatchAlerts: QueueFunction = {
  name: 'dispatchAlerts',
  trigger: { type: 'storageQueue', queueName: '%STORAGE_PREFIX%-alerts', connection: 'AzureWebJobsStorage' },
  handler,
};
