import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { postdeploy, type Arm } from '../../../scripts/postdeploy.js';

/** Issue #16 §4: the postdeploy hook with azd's login, an existing system topic, and a second run. */
describe('postdeploy hook', () => {
  const identityId =
    '/subscriptions/s/resourceGroups/app/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id';
  const env = {
    REGISTRY_TARGETS: JSON.stringify([
      { name: 'acr1', resourceGroup: 'rg-acr', subscriptionId: 's', systemTopicName: 'evgt-acr1' },
      { name: 'acr2', resourceGroup: 'rg-acr', subscriptionId: 's', systemTopicName: 'evgt-acr2' },
    ]),
    AZURE_SUBSCRIPTION_ID: 's',
    AZURE_LOCATION: 'westeurope',
    AZURE_ENV_NAME: 'dev',
    AZURE_FUNCTION_APP_ID: '/subscriptions/s/resourceGroups/app/providers/Microsoft.Web/sites/func',
    AZURE_USER_ASSIGNED_IDENTITY_ID: identityId,
    AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID: '00000000-0000-0000-0000-000000000001',
    AZURE_STORAGE_ACCOUNT_ID: '/subscriptions/s/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/st',
    EVENTGRID_DEADLETTER_CONTAINER: 'eventgrid-deadletter',
  };
  // acr1 already has a topic (another team's, with a system-assigned identity); acr2 has none.
  const existing = {
    name: 'team-topic',
    identity: { type: 'SystemAssigned', userAssignedIdentities: null },
    properties: {
      source: '/subscriptions/s/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/ACR1',
    },
  };

  function fakeArm(): { arm: Arm; calls: Array<{ method: string; path: string; body?: unknown }> } {
    const calls: Array<{ method: string; path: string; body?: unknown }> = [];
    let polls = 0;
    const arm: Arm = (method, path, body) => {
      calls.push({ method, path, ...(body === undefined ? {} : { body }) });
      if (path.includes('/systemTopics?')) return Promise.resolve({ status: 200, json: { value: [existing] } });
      if (method === 'PUT') return Promise.resolve({ status: 201, json: {} });
      polls += 1;
      return Promise.resolve({
        status: 200,
        json: { properties: { provisioningState: polls % 2 === 1 ? 'Running' : 'Succeeded' } },
      });
    };
    return { arm, calls };
  }

  it('subscribes to an existing topic without PUTting it, and is the same PUT when run again', async () => {
    const { arm, calls } = fakeArm();
    const run = () => postdeploy({ env, arm, template: () => ({ t: 1 }), log: () => undefined, pollMs: 0 });

    const first = await run();
    const second = await run();

    expect(first).toEqual(second);
    expect(first.map((t) => [t.name, t.systemTopicName, t.existingSystemTopic, t.existingTopicHasIdentity])).toEqual([
      ['acr1', 'team-topic', true, false],
      ['acr2', 'evgt-acr2', false, false],
    ]);
    const puts = calls.filter((call) => call.method === 'PUT');
    expect(puts).toHaveLength(2);
    expect(puts[0]).toEqual(puts[1]);
    expect(puts.every((put) => put.path.includes('/providers/Microsoft.Resources/deployments/eventgrid-dev?'))).toBe(
      true,
    );
    expect(calls.some((call) => call.method === 'PUT' && call.path.includes('Microsoft.EventGrid'))).toBe(false);
  });

  it('says there is nothing to do without registries, and asks for azd provision when outputs are missing', async () => {
    const { arm } = fakeArm();
    const lines: string[] = [];
    expect(await postdeploy({ env: {}, arm, template: () => ({}), log: (l) => void lines.push(l) })).toEqual([]);
    expect(lines[0]).toMatch(/no registries configured/);
    await expect(
      postdeploy({ env: { REGISTRY_TARGETS: env.REGISTRY_TARGETS }, arm, template: () => ({}), log: () => undefined }),
    ).rejects.toThrow(/azd provision/);
  });

  it('is what both hooks run, with no az CLI', () => {
    for (const hook of ['infra/hooks/postdeploy.sh', 'infra/hooks/postdeploy.ps1']) {
      const text = readFileSync(hook, 'utf8');
      expect(text).toContain('scripts/postdeploy.ts');
      expect(text).not.toMatch(/^\s*az /m);
    }
  });

  it('references an existing topic in the Bicep instead of declaring it anew', () => {
    const bicep = readFileSync('infra/app/eventgrid-registry.bicep', 'utf8');
    expect(bicep).toMatch(/resource topic 'Microsoft\.EventGrid\/systemTopics@[^']+' = if \(!useExistingSystemTopic\)/);
    expect(bicep).toMatch(/resource anyTopic 'Microsoft\.EventGrid\/systemTopics@[^']+' existing/);
  });
});
