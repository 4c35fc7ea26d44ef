import { createHttpHeaders, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import type { RegistrySettings } from '../../../../lib/core/registries.js';
import { silentLogger } from '../../../../lib/core/logging.js';
import { eventSubscriptionCheck } from '../../../../lib/registry/event-subscription.js';

/**
 * Issue #16 §4: the Event Grid subscription check works with what the template grants — Reader on the registry's
 * system topic (infra/app/eventgrid-registry.bicep), not on its resource group. ARM answers 403 to a list of the
 * resource group's topics then, so the check reads the topic the REGISTRIES setting names.
 */
const registryId = '/subscriptions/s1/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/contoso';
const topicPath = '/subscriptions/s1/resourceGroups/rg-acr/providers/Microsoft.EventGrid/systemTopics/evgt-contoso';
const registry: RegistrySettings = {
  name: 'contoso',
  loginServer: 'contoso.azurecr.io',
  resourceId: registryId,
  auth: { type: 'identity' },
};
const credential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** ARM as the template's grants make it: readable under the topic, 403 anywhere else. */
function armWithTopicReader(): { httpClient: HttpClient; paths: string[] } {
  const paths: string[] = [];
  const httpClient: HttpClient = {
    sendRequest: (request: PipelineRequest) => {
      const path = new URL(request.url).pathname;
      paths.push(path);
      const answer = (status: number, body: unknown) =>
        Promise.resolve({
          request,
          status,
          headers: createHttpHeaders({ 'content-type': 'application/json' }),
          bodyAsText: JSON.stringify(body),
        });
      if (path === topicPath) return answer(200, { id: topicPath, properties: { source: registryId } });
      if (path === `${topicPath}/eventSubscriptions`)
        return answer(200, {
          value: [
            {
              properties: {
                destination: {
                  endpointType: 'AzureFunction',
                  properties: {
                    resourceId:
                      '/subscriptions/s1/resourceGroups/app/providers/Microsoft.Web/sites/f/functions/onRegistryEvent',
                  },
                },
                filter: { includedEventTypes: ['Microsoft.ContainerRegistry.ImagePushed'] },
              },
            },
          ],
        });
      return answer(403, { error: { code: 'AuthorizationFailed' } });
    },
  };
  return { httpClient, paths };
}

describe('eventSubscriptionCheck', () => {
  it('answers with Reader on the system topic only, reading the topic the setting names', async () => {
    const { httpClient, paths } = armWithTopicReader();
    const check = eventSubscriptionCheck({ credential, armEndpoint: 'https://management.azure.com', httpClient });

    expect(await check({ ...registry, systemTopic: 'evgt-contoso' }, silentLogger)).toBe(true);
    expect(paths.every((path) => path.startsWith(topicPath))).toBe(true);
  });

  it('says it could not tell (undefined), not "no", when only a resource group list would find the topic', async () => {
    const { httpClient } = armWithTopicReader();
    const check = eventSubscriptionCheck({ credential, armEndpoint: 'https://management.azure.com', httpClient });
    expect(await check(registry, silentLogger)).toBeUndefined();
  });
});
