import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createDependencies } from '../../../lib/deps.js';

/**
 * The composition root takes its identity and transport from its caller (issue #13): with both injected, building
 * the app and calling ACR and Table Storage touches no network and no DefaultAzureCredential.
 */

const digest = `sha256:${'1'.repeat(64)}`;
const env = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  REGISTRIES: JSON.stringify([
    {
      name: 'contoso',
      loginServer: 'contoso.azurecr.io',
      resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso',
    },
  ]),
};

/** Answers like ACR and Table Storage would, and records every request. */
function recordingClient(): HttpClient & { requests: PipelineRequest[] } {
  const requests: PipelineRequest[] = [];
  const answer = (request: PipelineRequest, status: number, body: unknown): PipelineResponse => ({
    request,
    status,
    headers: createHttpHeaders({ 'content-type': 'application/json' }),
    bodyAsText: JSON.stringify(body),
  });
  return {
    requests,
    sendRequest: (request) => {
      requests.push(request);
      const { host, pathname } = new URL(request.url);
      if (host === 'contoso.azurecr.io' && pathname === '/oauth2/exchange')
        return Promise.resolve(answer(request, 200, { refresh_token: 'acr-refresh-token' }));
      if (host === 'contoso.azurecr.io' && pathname === '/oauth2/token')
        return Promise.resolve(answer(request, 200, { access_token: 'acr-access-token' }));
      if (pathname === `/acr/v1/team-a/app/_manifests/${digest}`)
        return Promise.resolve(answer(request, 200, { manifest: { digest, architecture: 'amd64', os: 'linux' } }));
      if (
        pathname.startsWith('/devstoreaccount1/streamingConversions(') ||
        pathname.startsWith('/devstoreaccount1/streamingThrottle(')
      )
        return Promise.resolve(
          answer(request, 404, { 'odata.error': { code: 'ResourceNotFound', message: { value: 'not found' } } }),
        );
      return Promise.resolve(answer(request, 599, { unexpected: request.url }));
    },
  };
}

describe('createDependencies', () => {
  it('sends ACR and Table Storage through the injected HTTP client with the injected identity', async () => {
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: (scope): Promise<AccessToken> => {
        scopes.push(String(scope));
        return Promise.resolve({ token: 'entra-token-from-the-caller', expiresOnTimestamp: Date.now() + 3_600_000 });
      },
    };
    const httpClient = recordingClient();

    const deps = createDependencies({ env, credential, httpClient });
    const attributes = await deps.registryClient('contoso').getManifestAttributes('team-a/app', digest);
    const row = await deps.conversionStore.read({ registry: 'contoso', repository: 'team-a/app', digest });

    expect(attributes).toMatchObject({ digest, architecture: 'amd64' });
    expect(row).toBeUndefined();
    expect(scopes).toEqual(['https://containerregistry.azure.net/.default']);
    const exchange = httpClient.requests.find((request) => request.url.endsWith('/oauth2/exchange'));
    expect(new URLSearchParams(exchange?.body as string).get('access_token')).toBe('entra-token-from-the-caller');
    expect(httpClient.requests.map((request) => `${request.method} ${new URL(request.url).pathname}`)).toEqual([
      // The registry's shared "throttled until" (none), read before the first request to it.
      expect.stringMatching(/^GET \/devstoreaccount1\/streamingThrottle\(PartitionKey='contoso'/),
      'POST /oauth2/exchange',
      'POST /oauth2/token',
      `GET /acr/v1/team-a/app/_manifests/${digest}`,
      expect.stringMatching(/^GET \/devstoreaccount1\/streamingConversions\(PartitionKey='contoso'/),
    ]);
  });

  it('reads its settings from the env it is given, not from process.env', () => {
    expect(() => createDependencies({ env: { ...env, STORAGE_PREFIX: '1-not-a-prefix' } })).toThrow(/STORAGE_PREFIX/);
    expect(
      createDependencies({ env, credential: { getToken: () => Promise.resolve(null) } }).names.tables,
    ).toMatchObject({ conversions: 'streamingConversions' });
  });
});
