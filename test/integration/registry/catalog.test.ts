import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../../lib/registry/client.js';
import { AcrError } from '../../../lib/core/errors.js';
import { trustingHttpClient } from '../../support/trust.js';
import { startTestEmulator, type TestEmulator } from '../emulator/helpers.js';

/** `RegistryClient.listRepositories` against the emulator: the catalog scope, `Link` pages, faults. */
describe('RegistryClient.listRepositories', () => {
  let t: TestEmulator;
  const repositories = ['team-b/api', 'team-a/app', 'base/alpine', 'team-a/web', 'tools'];

  const client = (name = 'sandbox'): RegistryClient => {
    const target = t.emulator.registry(name);
    return new RegistryClient({
      loginServer: target.loginServer,
      credentials: { type: 'password', username: target.username!, password: target.password! },
      httpClient: trustingHttpClient(target.caFile),
      retry: { baseDelayMs: 5, maxDelayMs: 50 },
    });
  };

  beforeAll(async () => {
    t = await startTestEmulator({ registries: [{ name: 'sandbox' }, { name: 'empty' }] });
    for (const repository of repositories)
      await t.control.seedImage('sandbox', { repository, tag: 'v1', kind: 'image' });
  });
  afterAll(() => t.emulator.close());
  beforeEach(async () => {
    await t.control.clearFaults();
    await t.control.clearRequests();
  });

  it('lists every repository in catalog order, following Link pages with one catalog token', async () => {
    const names = await client().listRepositories({ pageSize: 2 });

    expect(names).toEqual([...repositories].sort());
    const pages = await t.control.requests({ method: 'GET', path: '^/acr/v1/_catalog$' });
    expect(pages.map((entry) => entry.status)).toEqual([200, 200, 200]);
    expect(pages.map((entry) => new URLSearchParams(entry.query).get('last'))).toEqual([
      null,
      'team-a/app',
      'team-b/api',
    ]);
    expect(await t.control.requests({ method: 'POST', path: '/oauth2/token' })).toHaveLength(1);
  });

  it('keeps repository calls working next to the catalog scope (one token per scope)', async () => {
    const acr = client();

    await acr.listRepositories();
    const streaming = await acr.getRepositoryStreaming('team-a/app');
    await acr.listRepositories();

    expect(streaming.convertPushedImages).toBe(false);
    expect(await t.control.requests({ method: 'POST', path: '/oauth2/token' })).toHaveLength(2);
  });

  it('answers an empty list for a registry without repositories', async () => {
    expect(await client('empty').listRepositories()).toEqual([]);
  });

  it('retries a server fault on a page (listing is idempotent) and reports a denial with its code', async () => {
    await t.control.addFault({
      method: 'GET',
      path: '^/acr/v1/_catalog',
      action: { kind: 'status', status: 503 },
      count: 1,
    });
    expect(await client().listRepositories({ pageSize: 10 })).toHaveLength(repositories.length);

    await t.control.addFault({
      method: 'GET',
      path: '^/acr/v1/_catalog',
      action: { kind: 'status', status: 403, code: 'DENIED' },
      count: 1,
    });
    const error = await client()
      .listRepositories()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AcrError);
    expect((error as AcrError).details).toMatchObject({ status: 403, code: 'DENIED', path: '/acr/v1/_catalog' });
  });
});
