import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../lib/config.js';
import { HttpRequest, InvocationContext } from '../../../lib/hosting/functions-runtime.js';
import { serve } from '../../../lib/http/route.js';
import { healthRoute } from '../../../lib/http/routes/health.js';
import type { RegistryReadiness } from '../../../lib/policy/eligibility.js';
import { createStorageClients } from '../../../lib/storage/clients.js';

/**
 * `/api/health` says what it knows of each registry's readiness and why it does not know (issue #14, scenario 8),
 * without counting it against the app's own health: real Azurite for storage, a registry nobody serves.
 */
describe('GET /api/health', () => {
  const config = loadConfig({
    AzureWebJobsStorage: inject('storageConnectionString'),
    REGISTRIES: JSON.stringify([
      {
        name: 'contoso',
        loginServer: '127.0.0.1:9',
        resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso',
      },
    ]),
  });
  const storage = createStorageClients(config.storage);
  const health = (readiness: RegistryReadiness) =>
    serve(healthRoute, () => ({ config, storage, readiness: () => Promise.resolve(readiness) }))(
      new HttpRequest({ method: 'GET', url: 'http://127.0.0.1/api/health' }),
      new InvocationContext(),
    );

  it('names a registry whose readiness ARM would not tell, with why, and its status does not depend on it', async () => {
    const unknown = await health({ ready: true, unknown: 'ARM answered 403: AuthorizationFailed' });
    const known = await health({ ready: true, sku: 'Premium', customerManagedKey: false });

    expect((unknown.jsonBody as { readiness: unknown[] }).readiness).toEqual([
      { registry: 'contoso', ready: true, unknown: 'ARM answered 403: AuthorizationFailed' },
    ]);
    expect((known.jsonBody as { readiness: unknown[] }).readiness).toEqual([
      { registry: 'contoso', ready: true, sku: 'Premium', customerManagedKey: false },
    ]);
    expect(unknown.status).toBe(known.status);
    expect((unknown.jsonBody as { dependencies: Array<{ name: string }> }).dependencies.map((d) => d.name)).toEqual([
      'storage',
      'registry:contoso',
    ]);
  });

  it('reports an alert channel disabled by a missing secret, and stays 200 for it (issue #16 §4)', async () => {
    const withChannel = loadConfig({
      AzureWebJobsStorage: inject('storageConnectionString'),
      ALERT_CHANNELS: JSON.stringify([{ name: 'team', kind: 'teams', urlSetting: 'TEAM_URL' }]),
      TEAM_URL: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/team-url/)',
    });
    const response = await serve(healthRoute, () => ({
      config: withChannel,
      storage,
      readiness: () => Promise.resolve({ ready: true }),
    }))(new HttpRequest({ method: 'GET', url: 'http://127.0.0.1/api/health' }), new InvocationContext());

    expect(response.status).toBe(200);
    expect((response.jsonBody as { alertChannels: unknown }).alertChannels).toEqual([
      {
        name: 'team',
        kind: 'teams',
        status: 'disabled',
        reason: 'setting TEAM_URL is an unresolved Key Vault reference',
      },
    ]);
  });
});
