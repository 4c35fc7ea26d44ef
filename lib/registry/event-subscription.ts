import { createDefaultHttpClient, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import type { RegistrySettings } from '../core/registries.js';
import type { Logger } from '../core/logging.js';
import { parseRegistryResourceId, type ArmOptions } from './readiness.js';

const apiVersion = '2022-06-15';

interface SystemTopic {
  readonly id?: string;
  readonly properties?: { readonly source?: string };
}

interface EventSubscription {
  readonly properties?: {
    readonly destination?: {
      readonly endpointType?: string;
      readonly properties?: { readonly resourceId?: string; readonly endpointBaseUrl?: string };
    };
    readonly filter?: { readonly includedEventTypes?: readonly string[] | null };
  };
}

/**
 * Whether an Event Grid subscription delivers the registry's ImagePushed events to this app's `onRegistryEvent`
 * function: the registry's system topic (Microsoft.EventGrid, found by its `source`) and a subscription on it whose
 * destination is the function (AzureFunction) or its webhook URL. Undefined when ARM does not say — no Reader on
 * the topic's resource group, an outage — so a report can tell "no" from "could not check".
 */
export function eventSubscriptionCheck(
  options: ArmOptions,
  functionName = 'onRegistryEvent',
): (registry: RegistrySettings, log: Logger) => Promise<boolean | undefined> {
  const { credential, armEndpoint } = options;
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  return async (registry, log) => {
    const { subscriptionId, resourceGroup } = parseRegistryResourceId(registry.resourceId);
    try {
      const token = await credential.getToken(`${armEndpoint}/.default`);
      if (token === null) return undefined;
      const get = async <T>(path: string): Promise<T[] | undefined> => {
        const response = await httpClient.sendRequest(
          createPipelineRequest({
            url: `${armEndpoint}${path}${path.includes('?') ? '&' : '?'}api-version=${apiVersion}`,
            headers: createHttpHeaders({ authorization: `Bearer ${token.token}` }),
            timeout: 15_000,
          }),
        );
        if (response.status < 200 || response.status > 299) {
          log.warn(
            `registry ${registry.name}: reading Event Grid from ARM answered ${response.status}; grant Reader on the system topic (and set systemTopic in REGISTRIES) or on resource group ${resourceGroup} to check the subscription`,
          );
          return undefined;
        }
        return (JSON.parse(response.bodyAsText ?? '{}') as { value?: T[] }).value ?? [];
      };
      // One resource: a 404 is "no such topic" (an empty list), anything else as get().
      const getOne = async <T>(path: string): Promise<T[] | undefined> => {
        const response = await httpClient.sendRequest(
          createPipelineRequest({
            url: `${armEndpoint}${path}?api-version=${apiVersion}`,
            headers: createHttpHeaders({ authorization: `Bearer ${token.token}` }),
            timeout: 15_000,
          }),
        );
        if (response.status === 404) return [];
        if (response.status < 200 || response.status > 299) {
          log.warn(
            `registry ${registry.name}: reading Event Grid system topic ${registry.systemTopic ?? ''} answered ${response.status}; grant Reader on it to check the subscription`,
          );
          return undefined;
        }
        return [JSON.parse(response.bodyAsText ?? '{}') as T];
      };
      const topicsPath = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.EventGrid/systemTopics`;
      // The topic the setting names is read alone (Reader on the topic, as the template grants, is enough);
      // otherwise the resource group's topics are listed (Reader on the resource group).
      const topics =
        registry.systemTopic !== undefined
          ? await getOne<SystemTopic>(`${topicsPath}/${registry.systemTopic}`)
          : await get<SystemTopic>(topicsPath);
      if (topics === undefined) return undefined;
      const topic = topics.find(
        (candidate) => candidate.properties?.source?.toLowerCase() === registry.resourceId.toLowerCase(),
      );
      if (!topic?.id) return false;
      const subscriptions = await get<EventSubscription>(`${topic.id}/eventSubscriptions`);
      if (subscriptions === undefined) return undefined;
      return subscriptions.some((subscription) => deliversPushes(subscription, functionName));
    } catch (error) {
      log.warn(
        `registry ${registry.name}: Event Grid subscription not checked (${error instanceof Error ? error.message.slice(0, 200) : String(error)})`,
      );
      return undefined;
    }
  };
}

function deliversPushes(subscription: EventSubscription, functionName: string): boolean {
  const destination = subscription.properties?.destination;
  const types = subscription.properties?.filter?.includedEventTypes;
  const pushes = !types || types.length === 0 || types.includes('Microsoft.ContainerRegistry.ImagePushed');
  const toFunction =
    (destination?.endpointType === 'AzureFunction' &&
      destination.properties?.resourceId?.toLowerCase().endsWith(`/functions/${functionName.toLowerCase()}`) ===
        true) ||
    // ARM returns webhook URLs without their query (it carries the key), so the Functions webhook path is what shows.
    (destination?.endpointType === 'WebHook' &&
      /\/runtime\/webhooks\/eventgrid\/?$/i.test(destination.properties?.endpointBaseUrl ?? ''));
  return pushes && toFunction;
}
