import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedRegistry } from '../../../dev/emulator/server.js';
import { startTestEmulator, type TestEmulator } from './helpers.js';

interface AccessClaim {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/**
 * The emulator's token service under role assignments (issue #16 § 3; sources in dev/emulator/registry/
 * permissions.ts): like ACR's, it does not refuse a token an identity's roles fall short of, it narrows each scope to
 * the actions the roles allow (the registry token spec: a partial grant "must not be considered an error"), and the
 * request then fails for want of the action.
 */
describe('emulator: role assignments narrow the access a token grants', () => {
  let t: TestEmulator;
  let registry: StartedRegistry;

  beforeAll(async () => {
    // The Entra token a test presents is the identity's object id.
    t = await startTestEmulator({
      registries: [{ name: 'sandbox' }],
      verifyAccessToken: (token) => (token.length > 0 ? { oid: token } : undefined),
    });
    registry = t.emulator.registry('sandbox');
    for (const repository of ['team-a/app', 'team-b/api'])
      await t.control.seedImage('sandbox', { kind: 'image', repository, tag: 'v1', platform: 'linux/amd64' });
  });
  afterAll(async () => {
    await t.control.setPermissions('sandbox', { mode: 'LegacyRegistryPermissions' });
    await t.emulator.close();
  });

  /** The exchange → token flow for an identity; returns the access token and the access it carries. */
  async function tokenFor(
    identity: string,
    scopes: readonly string[],
  ): Promise<{ token: string; access: AccessClaim[] }> {
    const base = `http://${registry.pushAddress}`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const exchanged = await fetch(`${base}/oauth2/exchange`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ grant_type: 'access_token', service: registry.loginServer, access_token: identity }),
    });
    const { refresh_token } = (await exchanged.json()) as { refresh_token: string };
    const issued = await fetch(`${base}/oauth2/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams([
        ['grant_type', 'refresh_token'],
        ['service', registry.loginServer],
        ['refresh_token', refresh_token],
        ...scopes.map((scope): [string, string] => ['scope', scope]),
      ]),
    });
    expect(issued.status).toBe(200);
    const { access_token } = (await issued.json()) as { access_token: string };
    const payload = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString('utf8')) as {
      access: AccessClaim[];
    };
    return { token: access_token, access: payload.access };
  }

  const actionsOn = (access: readonly AccessClaim[], name: string): string[] =>
    [...(access.find((entry) => entry.name === name)?.actions ?? [])].sort();

  it('an identity nobody assigned roles gets what it asks (the friendly default)', async () => {
    const { access } = await tokenFor('id-friendly', ['repository:team-a/app:pull,push', 'registry:catalog:*']);

    expect(actionsOn(access, 'team-a/app')).toEqual(['pull', 'push']);
    expect(actionsOn(access, 'catalog')).toEqual(['*']);
  });

  it('AcrPull narrows pull,push to pull, and the registry refuses a push with that token', async () => {
    await t.control.assignRoles('sandbox', 'id-pull', [{ role: 'AcrPull' }]);

    const { token, access } = await tokenFor('id-pull', ['repository:team-a/app:pull,push']);

    expect(actionsOn(access, 'team-a/app')).toEqual(['pull']);
    const upload = await fetch(`http://${registry.pushAddress}/v2/team-a/app/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect([401, 403]).toContain(upload.status);
  });

  it('in ABAC mode: repository roles apply within their condition only, and listing the catalog needs Catalog Lister', async () => {
    await t.control.setPermissions('sandbox', { mode: 'AbacRepositoryPermissions' });
    await t.control.assignRoles('sandbox', 'id-abac', [
      { role: 'Container Registry Repository Writer', repositories: ['team-a/'] },
      { role: 'AcrPush' },
    ]);
    const scopes = ['repository:team-a/app:pull,push', 'repository:team-b/api:pull,push', 'registry:catalog:*'];

    const without = await tokenFor('id-abac', scopes);
    expect(actionsOn(without.access, 'team-a/app')).toEqual(['pull', 'push']);
    // AcrPush has no data-plane permission on an ABAC-mode registry; the condition keeps team-b out.
    expect(actionsOn(without.access, 'team-b/api')).toEqual([]);
    expect(actionsOn(without.access, 'catalog')).toEqual([]);

    await t.control.assignRoles('sandbox', 'id-abac', [
      { role: 'Container Registry Repository Writer', repositories: ['team-a/'] },
      { role: 'Container Registry Repository Catalog Lister' },
    ]);
    const lister = await tokenFor('id-abac', scopes);
    expect(actionsOn(lister.access, 'catalog')).toEqual(['*']);
    const catalog = await fetch(`http://${registry.pushAddress}/v2/_catalog`, {
      headers: { authorization: `Bearer ${lister.token}` },
    });
    expect(catalog.status).toBe(200);
    expect(((await catalog.json()) as { repositories: string[] }).repositories).toEqual(
      expect.arrayContaining(['team-a/app', 'team-b/api']),
    );
  });

  it.each([
    { reading: 'by default (A12: Writer sets the repository switch both ways)', switchOffActions: [], writer: 202 },
    {
      reading: "with switchOffActions ['delete'] (only Contributor turns it off)",
      switchOffActions: ['delete'],
      writer: 403,
    },
  ])("ABAC mode, $reading: a Writer's token turns the switch on, and off answers $writer", async (c) => {
    await t.control.setPermissions('sandbox', {
      mode: 'AbacRepositoryPermissions',
      switchOffActions: c.switchOffActions,
    });
    try {
      await t.control.assignRoles('sandbox', 'id-writer', [{ role: 'Container Registry Repository Writer' }]);
      await t.control.assignRoles('sandbox', 'id-contributor', [{ role: 'Container Registry Repository Contributor' }]);
      // The CLI asks `pull,push` for `az acr artifact-streaming update` either way
      // (azure-cli acr/artifact_streaming.py).
      const writer = await tokenFor('id-writer', ['repository:team-a/app:pull,push']);
      const contributor = await tokenFor('id-contributor', ['repository:team-a/app:pull,push']);
      const set = (token: string, on: boolean): Promise<Response> =>
        fetch(`http://${registry.pushAddress}/acr/v1/team-a/app/_streaming`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ convertPushedImages: on, conversionFormat: 'overlaybd', conversionVersion: 'v1' }),
        });

      expect((await set(writer.token, true)).status).toBe(202);
      const off = await set(writer.token, false);
      expect(off.status).toBe(c.writer);
      if (c.writer === 403)
        expect(((await off.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('DENIED');
      expect((await set(contributor.token, false)).status).toBe(202);
    } finally {
      await t.control.setPermissions('sandbox', { mode: 'LegacyRegistryPermissions', switchOffActions: [] });
    }
  });
});
