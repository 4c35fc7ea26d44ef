import type { EventGridEvent, InvocationContext } from '@azure/functions';
import type { EventGridFunction } from '../lib/hosting/catalog.js';
import { appDependencies } from '../lib/hosting/lazy.js';

/** ACR ImagePushed / ImageDeleted from Event Grid. Throws only on transient failures, so Event Grid retries. */
async function handler(event: EventGridEvent, context: InvocationContext): Promise<void> {
  await (await appDependencies()).conversions.handleEvent(event, context);
}

export const onRegistryEvent: EventGridFunction = { name: 'onRegistryEvent', trigger: { type: 'eventGrid' }, handler };
