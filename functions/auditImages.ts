import type { InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { QueueFunction } from '../lib/hosting/catalog.js';

/** One part of an audit run: works until its budget, checkpoints, and continues in the next message. */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  await getDependencies().imageAudit.continue(message, context);
}

export const auditImages: QueueFunction = {
  name: 'auditImages',
  trigger: { type: 'storageQueue', queueName: '%STORAGE_PREFIX%-audits', connection: 'AzureWebJobsStorage' },
  handler,
};
