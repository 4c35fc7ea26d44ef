import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import type { ConnectedRegistryView } from '../audit/connected.js';
import type { RegistrySettings } from '../core/registries.js';
import { parseRegistryResourceId, type ArmOptions } from './readiness.js';

/** Lists a registry's connected registries through ARM (@azure/arm-containerregistry), one client per subscription. */
export function armConnectedRegistries(
  options: ArmOptions,
): (registry: RegistrySettings) => AsyncIterable<ConnectedRegistryView> {
  const clients = new Map<string, ContainerRegistryManagementClient>();
  return (registry) => {
    const { subscriptionId, resourceGroup, name } = parseRegistryResourceId(registry.resourceId);
    let client = clients.get(subscriptionId);
    if (client === undefined) {
      client = new ContainerRegistryManagementClient(options.credential, subscriptionId, {
        endpoint: options.armEndpoint,
        ...(options.httpClient ? { httpClient: options.httpClient } : {}),
      });
      clients.set(subscriptionId, client);
    }
    return client.connectedRegistries.list(resourceGroup, name);
  };
}
