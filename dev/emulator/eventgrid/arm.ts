import {
  type EmulatorRequest,
  type EmulatorResponse,
  type RegistryDefinition,
  type RouteHandler,
  registryResourceId,
} from '../contract.js';
import type { EventGridEngine } from './types.js';

export interface EventGridArmOptions {
  readonly registries: () => readonly RegistryDefinition[];
  readonly engine: () => EventGridEngine | undefined;
  /**
   * Checks the bearer token (the Entra module's verifier with ARM audiences); returns an error response or undefined.
   */
  readonly authenticate: (request: EmulatorRequest) => EmulatorResponse | undefined;
}

const topics =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.EventGrid\/systemTopics(?:\/([^/]+)\/eventSubscriptions)?$/i;

/**
 * The ARM view of the emulator's Event Grid (api-version 2022-06-15 shapes): one system topic per registry
 * (`{registry}-events`, source = the registry's resource id) and its event subscriptions, with webhook URLs
 * returned without their query string as ARM does.
 */
export function createEventGridArmHandler(options: EventGridArmOptions): RouteHandler {
  return (request) => {
    const match = topics.exec(request.path);
    if (!match) return Promise.resolve(undefined);
    const denied = options.authenticate(request);
    if (denied) return Promise.resolve(denied);
    if (request.method !== 'GET')
      return Promise.resolve({ status: 405, body: { error: { code: 'MethodNotAllowed', message: 'read-only' } } });
    const [, subscriptionId = '', resourceGroup = '', topicName] = match;
    const registries = options
      .registries()
      .filter(
        (registry) =>
          registry.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
          registry.resourceGroup.toLowerCase() === resourceGroup.toLowerCase(),
      );
    const topicId = (registry: RegistryDefinition): string =>
      `/subscriptions/${registry.subscriptionId}/resourceGroups/${registry.resourceGroup}/providers/Microsoft.EventGrid/systemTopics/${registry.name}-events`;
    if (topicName === undefined) {
      return Promise.resolve({
        status: 200,
        body: {
          value: registries.map((registry) => ({
            id: topicId(registry),
            name: `${registry.name}-events`,
            type: 'Microsoft.EventGrid/systemTopics',
            location: registry.location,
            properties: {
              source: registryResourceId(registry),
              topicType: 'Microsoft.ContainerRegistry.Registries',
              provisioningState: 'Succeeded',
            },
          })),
        },
      });
    }
    const registry = registries.find(
      (candidate) => `${candidate.name}-events`.toLowerCase() === topicName.toLowerCase(),
    );
    if (!registry)
      return Promise.resolve({
        status: 404,
        body: { error: { code: 'ResourceNotFound', message: `system topic ${topicName} not found` } },
      });
    const subscriptions = (options.engine()?.listSubscriptions() ?? []).filter(
      (view) => view.spec.registry === undefined || view.spec.registry.toLowerCase() === registry.name.toLowerCase(),
    );
    return Promise.resolve({
      status: 200,
      body: {
        value: subscriptions.map((view) => ({
          id: `${topicId(registry)}/eventSubscriptions/${view.spec.name}`,
          name: view.spec.name,
          type: 'Microsoft.EventGrid/systemTopics/eventSubscriptions',
          properties: {
            provisioningState: view.provisioningState === 'Succeeded' ? 'Succeeded' : view.provisioningState,
            destination: { endpointType: 'WebHook', properties: { endpointBaseUrl: view.spec.endpoint.split('?')[0] } },
            filter: { includedEventTypes: view.spec.includedEventTypes ?? null },
            eventDeliverySchema: 'EventGridSchema',
          },
        })),
      },
    });
  };
}
