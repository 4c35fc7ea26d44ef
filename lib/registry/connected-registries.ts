import type { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import type { ConnectedRegistryView } from '../audit/connected.js';
import type { RegistrySettings } from '../core/registries.js';
import { parseRegistryResourceId, type ArmOptions } from './readiness.js';

/** Lists a registry's connected registries through ARM (@azure/arm-containerregistry), one client per subscription. */
export function armConnectedRegistries(
  options: ArmOptions,
): (registry: RegistrySettings) => AsyncIterable<ConnectedRegistryView> {
  const clients = new Map<string, ContainerRegistryManagementClient>();
  return async function* (registry) {
    const { subscriptionId, resourceGroup, name } = parseRegistryResourceId(registry.resourceId);
    let client = clients.get(subscriptionId);
    if (client === undefined) {
      // The ARM SDK is imported when ARM is first asked, not when the app loads (issue #19 §1).
      const { ContainerRegistryManagementClient } = await import('@azure/arm-containerregistry');
      client = new ContainerRegistryManagementClient(options.credential, subscriptionId, {
        endpoint: options.armEndpoint,
        ...(options.httpClient ? { httpClient: options.httpClient } : {}),
      });
      clients.set(subscriptionId, client);
    }
    yield* client.connectedRegistries.list(resourceGroup, name);
  };
}
