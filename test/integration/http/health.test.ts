import { describe, expect, inject, it } from 'vitest';
import { ConfigurationError, loadConfig, type AppConfig } from '../../../lib/config.js';
import { HttpRequest, InvocationContext } from '../../../lib/hosting/functions-runtime.js';
import { serve } from '../../../lib/http/route.js';
import { cachedHealthStatus, healthRoutes } from '../../../lib/http/routes/health.js';
import type { RegistryReadiness } from '../../../lib/policy/eligibility.js';
import { createStorageClients } from '../../../lib/storage/clients.js';
import { appVersion } from '../../../lib/version.js';
import { clientPrincipal, readerPrincipal } from '../../support/principals.js';

/** A clock the test moves by hand: the cached probe's interval passes without a sleep. */
function manualClock() {
  let now = Date.parse('2026-11-23T00:00:00Z');
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

const request = (path: string, principal?: string) =>
  new HttpRequest({
    method: 'GET',
    url: `http://127.0.0.1/api/${path}`,
    headers: principal === undefined ? {} : { 'x-ms-client-principal': principal },
  });

describe('GET /api/health and /api/health/details (issue #17 §4)', () => {
  const storageConnectionString = inject('storageConnectionString');
  const healthy = loadConfig({ AzureWebJobsStorage: storageConnectionString });
  /** A registry nobody serves: its probe fails, so the app is degraded. */
  const unreachable = loadConfig({
    AzureWebJobsStorage: storageConnectionString,
    REGISTRIES: JSON.stringify([
      {
        name: 'contoso',
        loginServer: '127.0.0.1:9',
        resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/contoso',
      },
    ]),
  });
  const storage = createStorageClients(healthy.storage);
  /** One cache per function, as the worker keeps one (lib/deps.ts getHealthStatus). */
  const status = (dependencies: () => { config: AppConfig; storage: typeof storage }, clock = manualClock()) => {
    const cached = cachedHealthStatus(dependencies, clock);
    return serve(healthRoutes.status, () => cached);
  };
  const details = (config: AppConfig, readiness: RegistryReadiness = { ready: true }) =>
    serve(healthRoutes.details, () => ({ config, storage, readiness: () => Promise.resolve(readiness) }));

  describe('anonymous', () => {
    it('answers the status and the version only: no registry, resource id, endpoint or policy', async () => {
      const ok = await status(() => ({ config: healthy, storage }))(request('health'), new InvocationContext());
      const degraded = await status(() => ({ config: unreachable, storage }))(
        request('health'),
        new InvocationContext(),
      );

      expect(ok.status).toBe(200);
      expect(ok.jsonBody).toEqual({ status: 'ok', version: appVersion() });
      expect(degraded.status).toBe(503);
      expect(degraded.jsonBody).toEqual({ status: 'degraded', version: appVersion() });
      for (const secretish of ['contoso', 'subscriptions', '127.0.0.1', 'management', 'onPush'])
        expect(JSON.stringify(degraded.jsonBody)).not.toContain(secretish);
    });

    it('answers from the cached probe within the interval and probes again after it', async () => {
      const clock = manualClock();
      let config = healthy;
      const health = status(() => ({ config, storage }), clock);

      const first = await health(request('health'), new InvocationContext());
      config = unreachable;
      const cached = await health(request('health'), new InvocationContext());
      clock.advance(30_000);
      const fresh = await health(request('health'), new InvocationContext());

      expect([first.status, cached.status, fresh.status]).toEqual([200, 200, 503]);
    });

    it('is degraded, naming nothing, while the configuration is invalid', async () => {
      const response = await status(() => {
        throw new ConfigurationError(['TRACKING_FIRST_POLL_SECONDS: must be a positive integer']);
      })(request('health'), new InvocationContext());

      expect(response.status).toBe(503);
      expect(response.jsonBody).toEqual({ status: 'degraded', version: appVersion() });
    });
  });

  describe('details (function key at the host, Streaming.Read here)', () => {
    it('refuses a caller without an identity (401) or without Streaming.Read (403)', async () => {
      const anonymous = await details(healthy)(request('health/details'), new InvocationContext());
      const roleless = await details(healthy)(
        request('health/details', clientPrincipal({ objectId: 'x', name: 'nobody', roles: [] })),
        new InvocationContext(),
      );

      expect(anonymous.status).toBe(401);
      expect(roleless.status).toBe(403);
      expect(roleless.body as string).toContain('Streaming.Read');
    });

    it('names a registry whose readiness ARM would not tell, with why, and its status does not depend on it', async () => {
      const call = (readiness: RegistryReadiness) =>
        details(unreachable, readiness)(request('health/details', readerPrincipal()), new InvocationContext());
      const unknown = await call({ ready: true, unknown: 'ARM answered 403: AuthorizationFailed' });
      const known = await call({ ready: true, sku: 'Premium', customerManagedKey: false });

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
      expect(unknown.jsonBody).toMatchObject({ status: 'degraded', config: { registries: [{ name: 'contoso' }] } });
    });

    it('reports an alert channel disabled by a missing secret, and stays 200 for it (issue #16 §4)', async () => {
      const withChannel = loadConfig({
        AzureWebJobsStorage: storageConnectionString,
        ALERT_CHANNELS: JSON.stringify([{ name: 'team', kind: 'teams', urlSetting: 'TEAM_URL' }]),
        TEAM_URL: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/team-url/)',
      });
      const response = await details(withChannel)(
        request('health/details', readerPrincipal()),
        new InvocationContext(),
      );

      expect(response.status).toBe(200);
      expect(response.jsonBody).toMatchObject({ status: 'ok' });
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
});
