import type { InvocationContext } from '@azure/functions';
import type { QueueFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** One bounded run of a policy's backfill; the worker re-enqueues the continuation with a delay. */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  await (await appDependencies()).backfill.run(message, context);
}

export const runBackfill: QueueFunction = {
  name: 'runBackfill',
  // Resolved from app settings like every binding expression; lib/storage/resources.ts names the same queue.
  trigger: { type: 'storageQueue', queueName: '%STORAGE_PREFIX%-backfill', connection: 'AzureWebJobsStorage' },
  handler,
};
