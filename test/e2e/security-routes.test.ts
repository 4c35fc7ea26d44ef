import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalog } from '../../functions/catalog.js';
import { isHttpFunction, type HttpFunction } from '../../lib/hosting/catalog.js';
import { sandboxAdminPrincipal } from '../../dev/sandbox-file.js';
import {
  fakeDigest,
  nonLoopbackAddresses,
  quietTimers,
  rawRequest,
  tryConnect,
  type RawResponse,
} from '../support/hostile.js';
import { hostKeys, SandboxHarness, type HostProcess } from '../support/sandbox-harness.js';
import { clientPrincipal, principalIds } from '../support/principals.js';

/**
 * Every HTTP function of the catalog, every method: a key is required unless the function is on the anonymous
 * allow-list, and an identity is required unless it is on the key-only allow-list. The lists below are the only
 * hand-written part; a new function is exercised automatically and fails here if it forgets its checks.
 */
const anonymous = new Set(['health']);
const keyOnly = new Set(['openApi']);
/** Sample values for route parameters; a new parameter name fails the coverage test until it gets one. */
const sampleParams: Readonly<Record<string, string>> = {
  registry: 'sandbox',
  digest: fakeDigest(42),
  scope: 'team-a/app',
  id: `sandbox-webhook.${'a'.repeat(32)}`,
};
/** Query parameters the handlers read before or besides the caller check (repositories travel in the query). */
const sampleQuery = 'repository=team-a/app';

const httpFunctions = catalog.filter(isHttpFunction);
const nonHttpFunctions = catalog.filter((declaration) => !isHttpFunction(declaration));

interface Call {
  readonly name: string;
  readonly method: string;
  readonly path: string;
}

function fill(route: string): string | undefined {
  let missing = false;
  const path = route.replace(/\{\*?([a-zA-Z]+)(?::[^}?]*)?\??\}/g, (_, name: string) => {
    const value = sampleParams[name];
    if (value === undefined) missing = true;
    return value === undefined ? '' : name === 'scope' ? value : encodeURIComponent(value);
  });
  return missing ? undefined : `/api/${path}?${sampleQuery}`;
}

const calls: Call[] = httpFunctions.flatMap((declaration: HttpFunction) => {
  const path = fill(declaration.trigger.route);
  return path === undefined
    ? []
    : declaration.trigger.methods.map((method) => ({ name: declaration.name, method, path }));
});
const cases = calls.map((call) => [`${call.name} ${call.method}`, call] as const);

describe('authentication of every route in the catalog', () => {
  let sandbox: SandboxHarness;
  let host: HostProcess;
  const exercised = new Set<string>();

  beforeAll(async () => {
    sandbox = await SandboxHarness.start({
      storageConnectionString: inject('storageConnectionString'),
      settings: quietTimers,
    });
    host = await sandbox.startHost({ subscribe: false });
  });
  afterAll(() => sandbox.close());

  async function call(target: Call, headers: Record<string, string | undefined>): Promise<RawResponse> {
    const body = ['POST', 'PUT', 'PATCH'].includes(target.method) ? '{}' : undefined;
    return rawRequest(host.url, {
      method: target.method,
      path: target.path,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
  }

  it('covers every HTTP function of the catalog (a new one without sample values fails here)', () => {
    const covered = new Set(calls.map((entry) => entry.name));

    expect(httpFunctions.map((declaration) => declaration.name).filter((name) => !covered.has(name))).toEqual([]);
    expect(httpFunctions.length).toBeGreaterThanOrEqual(16);
    expect(
      httpFunctions
        .filter((declaration) => declaration.trigger.authLevel === 'anonymous')
        .map((declaration) => declaration.name),
    ).toEqual([...anonymous]);
  });

  it.each(cases)('%s: 401 without a key and with a wrong one (anonymous routes: served)', async (_label, target) => {
    exercised.add(target.name);
    const missing = await call(target, { 'x-ms-client-principal': sandboxAdminPrincipal() });
    const wrong = await call(target, {
      'x-ms-client-principal': sandboxAdminPrincipal(),
      'x-functions-key': 'not-the-key',
    });
    const eventGridKey = await call(target, {
      'x-ms-client-principal': sandboxAdminPrincipal(),
      'x-functions-key': hostKeys.eventGrid,
    });

    if (anonymous.has(target.name)) {
      expect(missing.status, missing.text).toBe(200);
    } else {
      expect(missing.status, missing.text).toBe(401);
      expect(missing.text).toMatch(/key is missing/);
      expect(wrong.status, wrong.text).toBe(401);
      expect(wrong.text).toMatch(/key is invalid/);
      // The Event Grid system key opens the webhook only, never an API route.
      expect(eventGridKey.status, eventGridKey.text).toBe(401);
    }
  });

  it.each(cases)(
    '%s: 401 with a function key but no caller identity (health, openapi.json: 200)',
    async (_label, target) => {
      const viaHeader = await call(target, { 'x-functions-key': hostKeys.function });
      const viaQuery = await rawRequest(host.url, {
        method: target.method,
        path: `${target.path}&code=${hostKeys.function}`,
        headers: ['POST', 'PUT', 'PATCH'].includes(target.method) ? { 'content-type': 'application/json' } : {},
        ...(['POST', 'PUT', 'PATCH'].includes(target.method) ? { body: '{}' } : {}),
      });

      for (const response of [viaHeader, viaQuery]) {
        if (anonymous.has(target.name) || keyOnly.has(target.name)) {
          expect(response.status, response.text).toBe(200);
        } else {
          expect(response.status, response.text).toBe(401);
          expect(JSON.parse(response.text)).toMatchObject({
            errors: [{ field: 'headers.x-ms-client-principal', reason: 'missing or invalid' }],
          });
        }
      }
    },
  );

  it.each(cases)(
    '%s: the key in ?code= works as the header does, for a caller with every role (issue #18 § 3)',
    async (_label, target) => {
      // `code` is the Functions convention for the key in the query (Microsoft Learn, HTTP trigger, "Authorization
      // keys"); the host leaves it in the URL the worker sees, so every route must ignore it, not refuse it.
      const admin = { 'x-ms-client-principal': sandboxAdminPrincipal() };
      const viaQuery = await call({ ...target, path: `${target.path}&code=${hostKeys.function}` }, admin);
      const viaHeader = await call(target, { ...admin, 'x-functions-key': hostKeys.function });

      // A refusal of the key would be a 4xx naming it; a 2xx may say "code" (the OpenAPI document has such fields).
      if (viaQuery.status >= 400)
        expect(viaQuery.text, `${target.name}: ${viaQuery.text}`).not.toMatch(/"code"|query\.code/);
      expect(viaQuery.status, viaQuery.text).not.toBe(401);
      // A read answers the same either way; a write's second call meets the state the first one left.
      if (target.method === 'GET') expect(viaQuery.status, viaQuery.text).toBe(viaHeader.status);
    },
  );

  it('exercised every listed route', () => {
    expect([...exercised].sort()).toEqual([...new Set(calls.map((entry) => entry.name))].sort());
  });

  describe('the doctor (issue #20 §2)', () => {
    const diagnosis = (query: string, principal: string): Promise<RawResponse> =>
      rawRequest(host.url, {
        method: 'GET',
        path: `/api/registries/sandbox/diagnosis?${query}`,
        headers: { 'x-functions-key': hostKeys.function, 'x-ms-client-principal': principal },
      });
    const reader = clientPrincipal({ objectId: principalIds.reader, roles: ['Streaming.Read'] });

    it('is 403 for a caller without Streaming.Read, and 400 naming the field for a bad image or cluster', async () => {
      const none = await diagnosis(
        'image=team-a/app:v1',
        clientPrincipal({ objectId: principalIds.writer, roles: [] }),
      );
      const badImage = await diagnosis('image=Team-A/App', reader);
      const badCluster = await diagnosis('image=team-a/app:v1&cluster=/subscriptions/s/aks', reader);

      expect(none.status, none.text).toBe(403);
      expect(badImage.status, badImage.text).toBe(400);
      expect(JSON.parse(badImage.text)).toMatchObject({ errors: [{ field: 'query.image' }] });
      expect(badCluster.status, badCluster.text).toBe(400);
      expect(JSON.parse(badCluster.text)).toMatchObject({ errors: [{ field: 'query.cluster' }] });
    });

    it('answers a reader with the checklist: an unknown repository will not pull', async () => {
      const response = await diagnosis('image=doctor/none:v1', reader);

      expect(response.status, response.text).toBe(200);
      const body = JSON.parse(response.text) as {
        summary: { verdict: string };
        checks: { id: string; status: string }[];
      };
      expect(body.summary.verdict).toBe('will-not-pull');
      expect(body.checks.find((check) => check.id === 'image.exists')?.status).toBe('fail');
      expect(body.checks.find((check) => check.id === 'registry.premium')?.status).toBe('pass');
    });
  });

  describe('the Event Grid webhook', () => {
    const path = (code?: string): string =>
      `/runtime/webhooks/eventgrid?functionName=onRegistryEvent${code === undefined ? '' : `&code=${encodeURIComponent(code)}`}`;
    const handshake = JSON.stringify([
      {
        id: 'v',
        topic: 't',
        subject: '',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: '2026-01-01T00:00:00Z',
        data: { validationCode: 'code-1' },
        dataVersion: '1',
      },
    ]);
    const send = (code: string | undefined, header?: string): Promise<RawResponse> =>
      rawRequest(host.url, {
        method: 'POST',
        path: path(code),
        headers: {
          'content-type': 'application/json',
          'aeg-event-type': 'SubscriptionValidation',
          'x-functions-key': header,
        },
        body: handshake,
      });

    it('is 401 without the system key, with a function key, or with a wrong one', async () => {
      for (const [code, header] of [
        [undefined, undefined],
        [hostKeys.function, undefined],
        [undefined, hostKeys.function],
        ['wrong', undefined],
        ['', undefined],
        [hostKeys.eventGrid.toUpperCase(), undefined],
      ] as const) {
        const response = await send(code, header);
        expect(response.status, `${code ?? '-'} ${header ?? '-'}: ${response.text}`).toBe(401);
        expect(response.text).toMatch(/eventgrid_extension system key/);
      }
    });

    it('answers with the system key (query or header) and with the master key', async () => {
      for (const response of [
        await send(hostKeys.eventGrid),
        await send(undefined, hostKeys.eventGrid),
        await send(hostKeys.master),
      ]) {
        expect(response.status, response.text).toBe(200);
        expect(JSON.parse(response.text)).toEqual({ validationResponse: 'code-1' });
      }
    });

    it('accepts POST only', async () => {
      expect((await rawRequest(host.url, { method: 'GET', path: path(hostKeys.eventGrid) })).status).toBe(405);
    });
  });

  describe('the admin API', () => {
    it.each(nonHttpFunctions.map((declaration) => [declaration.name] as const))(
      'POST /admin/functions/%s is 401 without the master key',
      async (name) => {
        for (const key of [undefined, hostKeys.function, hostKeys.eventGrid, 'wrong', hostKeys.master.toUpperCase()]) {
          const response = await rawRequest(host.url, {
            method: 'POST',
            path: `/admin/functions/${name}`,
            headers: { 'x-functions-key': key, 'content-type': 'application/json' },
            body: '{}',
          });
          expect(response.status, `${key ?? '(none)'}: ${response.text}`).toBe(401);
          expect(response.text).toMatch(/master key/);
        }
        const viaQuery = await rawRequest(host.url, {
          method: 'POST',
          path: `/admin/functions/${name}?code=${hostKeys.function}`,
          body: '',
        });
        expect(viaQuery.status).toBe(401);
      },
    );

    it('takes the master key (checked without running anything: HTTP functions and unknown names are refused after the key)', async () => {
      const httpName = httpFunctions[0]!.name;
      const asHttp = await rawRequest(host.url, {
        method: 'POST',
        path: `/admin/functions/${httpName}`,
        headers: { 'x-functions-key': hostKeys.master },
      });
      const unknown = await rawRequest(host.url, {
        method: 'POST',
        path: '/admin/functions/noSuchFunction',
        headers: { 'x-functions-key': hostKeys.master },
      });

      expect(asHttp.status, asHttp.text).toBe(400);
      expect(unknown.status, unknown.text).toBe(404);
    });

    it('GET /admin/host/status needs the master key', async () => {
      for (const key of [undefined, hostKeys.function, hostKeys.eventGrid]) {
        expect(
          (
            await rawRequest(host.url, {
              method: 'GET',
              path: '/admin/host/status',
              headers: { 'x-functions-key': key },
            })
          ).status,
          key ?? '(none)',
        ).toBe(401);
      }
      expect(
        (
          await rawRequest(host.url, {
            method: 'GET',
            path: '/admin/host/status',
            headers: { 'x-functions-key': hostKeys.master },
          })
        ).status,
      ).toBe(200);
    });
  });

  describe('listeners bind to loopback only', () => {
    const external = nonLoopbackAddresses();

    function listeners(): Array<[string, URL]> {
      const azurite = [...inject('storageConnectionString').matchAll(/(Blob|Queue|Table)Endpoint=([^;]+)/g)].map(
        (match) => [`Azurite ${match[1]!}`, new URL(match[2]!)] as [string, URL],
      );
      return [
        ['local host', new URL(host.url)],
        ['emulator control API', new URL(sandbox.emulator.emulator.controlUrl)],
        ['emulator management (Entra, ARM)', new URL(sandbox.emulator.emulator.managementUrl)],
        ['registry HTTPS', new URL(sandbox.registry.httpsUrl)],
        ['registry push (HTTP)', new URL(`http://${sandbox.registry.pushAddress}`)],
        ['Entra discovery tunnel', new URL(sandbox.emulator.tunnel.url)],
        ...azurite,
      ];
    }

    it('advertises loopback addresses only', () => {
      for (const [name, url] of listeners())
        expect(['127.0.0.1', 'localhost'], `${name}: ${url.href}`).toContain(url.hostname);
    });

    it('answers on 127.0.0.1 and refuses connections on every other address of this machine', async (context) => {
      if (external.length === 0) context.skip();
      for (const [name, url] of listeners()) {
        const port = Number(url.port);
        expect(await tryConnect('127.0.0.1', port), `${name} on loopback`).toBe('connected');
        for (const address of external)
          expect(await tryConnect(address, port), `${name} on ${address}:${port}`).toBe('refused');
      }
    });
  });
});
