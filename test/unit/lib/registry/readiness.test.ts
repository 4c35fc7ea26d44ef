import { createHttpHeaders, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import type { RegistrySettings } from '../../../../lib/core/registries.js';
import { silentLogger } from '../../../../lib/core/logging.js';
import { armReadiness } from '../../../../lib/registry/readiness.js';

/**
 * Readiness from ARM (issue #14, scenario 8): when ARM cannot be read the registry is assumed ready, the failure is
 * kept for a minute instead of being asked again on every event, and `unknown` says why.
 */

const registry: RegistrySettings = {
  name: 'contoso',
  loginServer: 'contoso.azurecr.io',
  resourceId: '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso',
  auth: { type: 'identity' },
};
const credential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'arm-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

function arm(answers: Array<{ status: number; body: unknown }>) {
  let nowMs = Date.parse('2026-03-01T12:00:00.000Z');
  const requests: string[] = [];
  const httpClient: HttpClient = {
    sendRequest: (request: PipelineRequest) => {
      requests.push(new URL(request.url).pathname);
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      return Promise.resolve({
        request,
        status: answer.status,
        headers: createHttpHeaders({ 'content-type': 'application/json' }),
        bodyAsText: JSON.stringify(answer.body),
      });
    },
  };
  const readiness = armReadiness({
    credential,
    armEndpoint: 'https://management.azure.com',
    httpClient,
    now: () => nowMs,
  });
  return { readiness, requests, advance: (ms: number) => (nowMs += ms) };
}

const refused = {
  status: 403,
  body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization to read it.' } },
};
const premium = {
  status: 200,
  body: {
    id: registry.resourceId,
    name: 'contoso',
    location: 'westeurope',
    sku: { name: 'Premium', tier: 'Premium' },
    properties: { loginServer: 'contoso.azurecr.io', encryption: { status: 'disabled' } },
  },
};

describe('armReadiness', () => {
  it('assumes ready when ARM refuses, says why, and asks ARM again only after a minute', async () => {
    const { readiness, requests, advance } = arm([refused]);

    const first = await readiness(registry, silentLogger);
    advance(59_000);
    await readiness(registry, silentLogger);
    const beforeAgain = requests.length;
    advance(2_000);
    await readiness(registry, silentLogger);

    expect(first).toMatchObject({ ready: true, unknown: expect.stringMatching(/^ARM answered 403/) as unknown });
    expect(beforeAgain).toBe(1);
    expect(requests).toHaveLength(2);
  });

  it('keeps a successful answer for ten minutes, without `unknown`', async () => {
    const { readiness, requests, advance } = arm([premium]);

    const first = await readiness(registry, silentLogger);
    advance(9 * 60_000);
    await readiness(registry, silentLogger);

    expect(first).toEqual({ ready: true, sku: 'Premium', customerManagedKey: false });
    expect(requests).toHaveLength(1);
  });

  it('recovers: once ARM answers again, readiness is known', async () => {
    const { readiness, advance } = arm([refused, premium]);

    const unknown = await readiness(registry, silentLogger);
    advance(61_000);
    const known = await readiness(registry, silentLogger);

    expect(unknown.unknown).toBeDefined();
    expect(known).not.toHaveProperty('unknown');
  });

  it.each(['LegacyRegistryPermissions', 'AbacRepositoryPermissions'])(
    "reads the registry's role-assignment mode %s (ARM `roleAssignmentMode`, api-version 2025-11-01)",
    async (mode) => {
      const { readiness } = arm([
        {
          status: 200,
          body: { ...premium.body, properties: { ...premium.body.properties, roleAssignmentMode: mode } },
        },
      ]);

      expect(await readiness(registry, silentLogger)).toMatchObject({ ready: true, permissionsMode: mode });
    },
  );
});
