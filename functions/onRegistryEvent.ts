import type { EventGridEvent, InvocationContext } from '@azure/functions';
import { getDependencies } from '../lib/deps.js';
import type { EventGridFunction } from '../lib/hosting/catalog.js';

/** ACR ImagePushed / ImageDeleted from Event Grid. Throws only on transient failures, so Event Grid retries. */
async function handler(event: EventGridEvent, context: InvocationContext): Promise<void> {
  await getDependencies().conversions.handleEvent(event, context);
}

export const onRegistryEvent: EventGridFunction = { name: 'onRegistryEvent', trigger: { type: 'eventGrid' }, handler };
