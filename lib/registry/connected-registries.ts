import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import type { TokenCredential } from '@azure/identity';
import type { ConnectedRegistryView } from '../audit/connected.js';
import type { RegistrySettings } from '../core/registries.js';
import { parseRegistryResourceId } from './readiness.js';

/** Lists a registry's connected registries through ARM (@azure/arm-containerregistry), one client per subscription. */
export function armConnectedRegistries(
  credential: TokenCredential,
  armEndpoint: string,
): (registry: RegistrySettings) => AsyncIterable<ConnectedRegistryView> {
  const clients = new Map<string, ContainerRegistryManagementClient>();
  return (registry) => {
    const { subscriptionId, resourceGroup, name } = parseRegistryResourceId(registry.resourceId);
    let client = clients.get(subscriptionId);
    if (client === undefined) {
      client = new ContainerRegistryManagementClient(credential, subscriptionId, { endpoint: armEndpoint });
      clients.set(subscriptionId, client);
    }
    return client.connectedRegistries.list(resourceGroup, name);
  };
}
