import { createHttpHeaders, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { jwtExpiry, RegistryTokenProvider } from '../../../../lib/registry/auth.js';
import { RegistryTransport } from '../../../../lib/registry/transport.js';

/**
 * ACR's token flow (docs/sources.md § ACR token flow) in the app's token provider: one exchange per refresh token,
 * one `/oauth2/token` per scope, reuse until five minutes before `exp`, and a fresh start after `invalidate`.
 */

/** A JWT whose only meaningful claim is `exp` (the provider reads it without verifying, to know when to refresh). */
function jwt(name: string, expiresAtMs: number): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp: Math.floor(expiresAtMs / 1000), name })}.`;
}

function world(
  options: {
    refreshLifetimeMs?: number;
    accessLifetimeMs?: number;
    failFirstTokenCall?: boolean;
    maxScopes?: number;
  } = {},
) {
  let nowMs = Date.parse('2026-03-01T12:00:00.000Z');
  const calls: Array<{ path: string; form: URLSearchParams }> = [];
  let failures = options.failFirstTokenCall ? 1 : 0;
  const httpClient: HttpClient = {
    sendRequest: (request: PipelineRequest) => {
      const path = new URL(request.url).pathname;
      const form = new URLSearchParams(request.body as string);
      calls.push({ path, form });
      const answer = (status: number, body: unknown) =>
        Promise.resolve({ request, status, headers: createHttpHeaders(), bodyAsText: JSON.stringify(body) });
      if (path === '/oauth2/exchange')
        return answer(200, {
          refresh_token: jwt(`refresh-${calls.length}`, nowMs + (options.refreshLifetimeMs ?? 3 * 3_600_000)),
        });
      if (failures-- > 0)
        return answer(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
      return answer(200, {
        access_token: jwt(
          `access-${form.get('scope')}-${calls.length}`,
          nowMs + (options.accessLifetimeMs ?? 75 * 60_000),
        ),
      });
    },
  };
  let entraTokens = 0;
  const credential: TokenCredential = {
    getToken: (): Promise<AccessToken> =>
      Promise.resolve({ token: `entra-${++entraTokens}`, expiresOnTimestamp: nowMs + 3_600_000 }),
  };
  const transport = new RegistryTransport({
    baseUrl: 'https://contoso.azurecr.io',
    httpClient,
    retry: { maxRetries: 0 },
  });
  const provider = new RegistryTokenProvider(
    'contoso.azurecr.io',
    { type: 'identity', credential, audience: 'https://containerregistry.azure.net' },
    transport,
    () => nowMs,
    options.maxScopes,
  );
  const count = (path: string) => calls.filter((call) => call.path === path).length;
  return { provider, calls, count, advance: (ms: number) => (nowMs += ms), entraTokens: () => entraTokens };
}

const pull = 'repository:team-a/app:pull';
const push = 'repository:team-a/app:pull,push';

describe('RegistryTokenProvider', () => {
  it('shares one fetch between concurrent callers of a scope', async () => {
    const { provider, count } = world();

    const [first, second] = await Promise.all([provider.accessToken(pull), provider.accessToken(pull)]);

    expect(first).toBe(second);
    expect([count('/oauth2/exchange'), count('/oauth2/token')]).toEqual([1, 1]);
  });

  it('exchanges once and asks for one access token per scope, sending the refresh token for each', async () => {
    const { provider, calls, count } = world();

    await provider.accessToken(pull);
    await provider.accessToken(push);

    expect([count('/oauth2/exchange'), count('/oauth2/token')]).toEqual([1, 2]);
    const tokenCalls = calls.filter((call) => call.path === '/oauth2/token');
    expect(tokenCalls.map((call) => call.form.get('scope'))).toEqual([pull, push]);
    expect(new Set(tokenCalls.map((call) => call.form.get('refresh_token'))).size).toBe(1);
    expect(calls[0]!.form.get('access_token')).toBe('entra-1');
  });

  it('reuses an access token until five minutes before it expires, then fetches a new one', async () => {
    const { provider, count, advance } = world({ accessLifetimeMs: 20 * 60_000 });
    const first = await provider.accessToken(pull);

    advance(14 * 60_000);
    const stillCached = await provider.accessToken(pull);
    advance(2 * 60_000);
    const renewed = await provider.accessToken(pull);

    expect(stillCached).toBe(first);
    expect(renewed).not.toBe(first);
    expect(count('/oauth2/token')).toBe(2);
    expect(count('/oauth2/exchange')).toBe(1);
  });

  it('exchanges again once the refresh token nears its expiry', async () => {
    const { provider, count, advance, entraTokens } = world({
      refreshLifetimeMs: 20 * 60_000,
      accessLifetimeMs: 10 * 60_000,
    });
    await provider.accessToken(pull);

    advance(16 * 60_000);
    await provider.accessToken(pull);

    expect(count('/oauth2/exchange')).toBe(2);
    expect(entraTokens()).toBe(2);
  });

  it('after invalidate, fetches both tokens again', async () => {
    const { provider, count } = world();
    const first = await provider.accessToken(pull);

    provider.invalidate(pull);
    const second = await provider.accessToken(pull);

    expect(second).not.toBe(first);
    expect([count('/oauth2/exchange'), count('/oauth2/token')]).toEqual([2, 2]);
  });

  it('does not keep a failed fetch: the next call asks again', async () => {
    const { provider, count } = world({ failFirstTokenCall: true });

    await expect(provider.accessToken(pull)).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    const token = await provider.accessToken(pull);

    expect(jwtExpiry(token)).toBeGreaterThan(0);
    expect(count('/oauth2/token')).toBe(2);
  });

  it('scenario 9: keeps at most maxScopes tokens, evicting the least recently used', async () => {
    const { provider, count } = world({ maxScopes: 2 });
    const scope = (name: string) => `repository:${name}:pull`;

    await provider.accessToken(scope('a'));
    await provider.accessToken(scope('b'));
    await provider.accessToken(scope('a')); // a is now the most recently used
    await provider.accessToken(scope('c')); // evicts b
    expect(count('/oauth2/token')).toBe(3);

    await provider.accessToken(scope('a'));
    expect(count('/oauth2/token')).toBe(3); // still cached
    await provider.accessToken(scope('b'));
    expect(count('/oauth2/token')).toBe(4); // fetched again
  });
});
