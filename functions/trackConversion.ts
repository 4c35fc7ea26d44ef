import type { InvocationContext } from '@azure/functions';
import type { QueueFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** Starts (retries) and polls conversions; each message re-enqueues the next step with its backoff. */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  await (await appDependencies()).conversions.track(message, context);
}

export const trackConversion: QueueFunction = {
  name: 'trackConversion',
  // Resolved from app settings like every binding expression; lib/storage/resources.ts names the same queue.
  trigger: { type: 'storageQueue', queueName: '%STORAGE_PREFIX%-tracking', connection: 'AzureWebJobsStorage' },
  handler,
};
