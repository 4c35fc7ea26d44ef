import type { InvocationContext } from '@azure/functions';
import type { QueueFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** One part of an audit run: works until its budget, checkpoints, and continues in the next message. */
async function handler(message: unknown, context: InvocationContext): Promise<void> {
  await (await appDependencies()).imageAudit.continue(message, context);
}

export const auditImages: QueueFunction = {
  name: 'auditImages',
  trigger: { type: 'storageQueue', queueName: '%STORAGE_PREFIX%-audits', connection: 'AzureWebJobsStorage' },
  handler,
};
