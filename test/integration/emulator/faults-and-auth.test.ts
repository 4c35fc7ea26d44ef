import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeededManifest } from '../../../dev/emulator/control.js';
import { ACCESS_TOKEN_TTL_SECONDS } from '../../../dev/emulator/registry/auth.js';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { acrAccessToken, startTestEmulator, type TestEmulator } from './helpers.js';

describe('fault injection', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  it('answers 429 with Retry-After for the given count, then recovers', async () => {
    await t.control.addFault({
      method: 'POST',
      path: '^/oauth2/exchange$',
      action: { kind: 'status', status: 429, retryAfterSeconds: 7 },
      count: 2,
    });
    const post = (): Promise<Response> =>
      fetch(`http://${registry.pushAddress}/oauth2/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'access_token',
          service: registry.loginServer,
          access_token: 'x',
        }).toString(),
      });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const response = await post();
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toBe('7');
        expect(await response.json()).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });
      }
    }
    expect(statuses).toEqual([429, 429, 200]);
    const logged = await t.control.requests({ method: 'POST', path: '^/oauth2/exchange$' });
    expect(logged.filter((e) => e.fault !== undefined)).toHaveLength(2);
  });

  it('answers 500 only on the selected listener', async () => {
    const rule = await t.control.addFault({
      path: '^/v2/$',
      listener: 'management',
      action: { kind: 'status', status: 500 },
    });
    expect((await fetch(`http://${registry.pushAddress}/v2/`)).status).toBe(401);
    await t.control.removeFault(rule.id);
    await t.control.addFault({
      path: '^/v2/$',
      listener: 'sandbox',
      action: { kind: 'status', status: 500 },
      count: 1,
    });
    expect((await fetch(`http://${registry.pushAddress}/v2/`)).status).toBe(500);
    expect((await fetch(`http://${registry.pushAddress}/v2/`)).status).toBe(401);
  });

  it('drops the connection', async () => {
    await t.control.addFault({ method: 'GET', path: '^/v2/_catalog$', action: { kind: 'drop' }, count: 1 });
    await expect(fetch(`http://${registry.pushAddress}/v2/_catalog`)).rejects.toThrow();
    const [entry] = await t.control.requests({ path: '^/v2/_catalog$' });
    expect(entry).toMatchObject({ status: 0, fault: expect.stringContaining('drop') as unknown });
  });

  it('delays with latency and then routes normally', async () => {
    await t.control.addFault({ path: '^/v2/$', action: { kind: 'latency', milliseconds: 150 }, count: 1 });
    const started = Date.now();
    expect((await fetch(`http://${registry.pushAddress}/v2/`)).status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('authorization', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;
  let image: SeededManifest;

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }] });
    registry = t.emulator.registry('sandbox');
    image = await t.control.seedImage('sandbox', { kind: 'image', repository: 'team-a/app', tag: 'v1' });
  });
  afterAll(async () => {
    await t.emulator.close();
  });

  const get = (path: string, authorization?: string, method = 'GET', body?: string): Promise<Response> =>
    fetch(`http://${registry.pushAddress}${path}`, {
      method,
      headers: { ...(authorization ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });

  it('challenges with realm, service and scope', async () => {
    const response = await get('/v2/team-a/app/manifests/v1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="http://${registry.pushAddress}/oauth2/token",service="${registry.loginServer}",scope="repository:team-a/app:pull"`,
    );
    const catalog = await get('/acr/v1/_catalog');
    expect(catalog.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
  });

  it('lets a pull token pull but not push or convert (insufficient_scope)', async () => {
    const pull = `Bearer ${await acrAccessToken(registry, ['repository:team-a/app:pull'])}`;
    expect((await get('/v2/team-a/app/manifests/v1', pull)).status).toBe(200);
    const push = await get('/v2/team-a/app/blobs/uploads/', pull, 'POST');
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const convert = await get(`/acr/v1/team-a/app/_streaming/${image.digest}`, pull, 'POST', '{}');
    expect(convert.status).toBe(401);
    expect(convert.headers.get('www-authenticate')).toContain('scope="repository:team-a/app:pull,push"');
    const other = await get('/v2/team-b/other/tags/list', pull);
    expect(other.status).toBe(401);
  });

  it('accepts repeated scopes, the catalog scope, the password grant and Basic auth', async () => {
    const token = await acrAccessToken(registry, ['repository:team-a/app:metadata_read', 'registry:catalog:*']);
    expect((await get('/acr/v1/_catalog', `Bearer ${token}`)).status).toBe(200);
    expect((await get('/acr/v1/team-a/app/_tags/v1', `Bearer ${token}`)).status).toBe(200);
    const password = await fetch(`http://${registry.pushAddress}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        service: registry.loginServer,
        username: registry.username ?? '',
        password: registry.password ?? '',
        scope: 'repository:team-a/app:pull',
      }).toString(),
    });
    expect(password.status).toBe(200);
    const basic = `Basic ${Buffer.from(`${registry.username ?? ''}:${registry.password ?? ''}`).toString('base64')}`;
    expect((await get('/v2/_catalog', basic)).status).toBe(200);
    expect((await get('/v2/_catalog', `Basic ${Buffer.from('sandbox:wrong').toString('base64')}`)).status).toBe(401);
  });

  it('expires access tokens on the virtual clock', async () => {
    const token = `Bearer ${await acrAccessToken(registry, ['repository:team-a/app:pull'])}`;
    expect((await get('/v2/team-a/app/tags/list', token)).status).toBe(200);
    await t.control.advanceClock((ACCESS_TOKEN_TTL_SECONDS + 1) * 1000);
    const expired = await get('/v2/team-a/app/tags/list', token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('serves anonymous pulls only when enabled', async () => {
    expect((await get('/v2/team-a/app/manifests/v1')).status).toBe(401);
    await t.control.setAnonymousPull('sandbox', true);
    expect((await get('/v2/team-a/app/manifests/v1')).status).toBe(200);
    expect((await get('/v2/team-a/app/manifests/v1', undefined, 'DELETE')).status).toBe(401);
    await t.control.setAnonymousPull('sandbox', false);
    expect((await get('/v2/team-a/app/manifests/v1')).status).toBe(401);
  });
});
