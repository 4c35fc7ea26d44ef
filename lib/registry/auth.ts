import type { TokenCredential } from '@azure/identity';
import { type RegistryTransport, type RawRequest, responseError } from './transport.js';

/**
 * How the app proves itself to a registry: an Entra ID identity (managed identity in Azure) exchanged for an ACR
 * refresh token, or a username/password (admin user, repository-scoped token).
 */
export type RegistryCredentials =
  | { readonly type: 'identity'; readonly credential: TokenCredential; readonly audience: string }
  | { readonly type: 'password'; readonly username: string; readonly password: string };

/** Refresh a token this long before it expires (the SDK uses the same margin). */
const expiryMarginMs = 5 * 60_000;
/** When a token carries no readable `exp`, assume ACR's shortest lifetime we have seen. */
const fallbackLifetimeMs = 10 * 60_000;

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

/**
 * ACR's token flow (docs/sources.md § ACR token flow): `POST /oauth2/exchange` turns an Entra ID token into a refresh
 * token, and `POST /oauth2/token` turns that (or a password) into an access token for one scope such as
 * `repository:team/app:pull,push`. Tokens are cached per scope until shortly before they expire; concurrent callers
 * share one fetch. The scope is computed by the caller, so no 401 challenge round-trip is needed.
 */
export class RegistryTokenProvider {
  private refreshToken: Promise<CachedToken> | undefined;
  private readonly accessTokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly service: string,
    private readonly credentials: RegistryCredentials,
    private readonly transport: RegistryTransport,
    private readonly now: () => number = Date.now,
    /**
     * Scopes kept at most (one per repository the app touched): past it, the least recently used goes, so a registry
     * with thousands of repositories does not grow the cache for the life of the process.
     */
    private readonly maxScopes = 1_000,
  ) {}

  async accessToken(scope: string): Promise<string> {
    const cached = this.accessTokens.get(scope);
    if (cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && token.refreshAt > this.now()) {
        // Most recently used last: a Map keeps insertion order, so the first key is the least recently used.
        if (this.accessTokens.get(scope) === cached) {
          this.accessTokens.delete(scope);
          this.accessTokens.set(scope, cached);
        }
        return token.value;
      }
      if (this.accessTokens.get(scope) === cached) this.accessTokens.delete(scope);
    }
    const fetching = this.fetchAccessToken(scope);
    this.accessTokens.set(scope, fetching);
    fetching.catch(() => this.accessTokens.delete(scope));
    while (this.accessTokens.size > this.maxScopes) {
      const oldest = this.accessTokens.keys().next().value;
      if (oldest === undefined) break;
      this.accessTokens.delete(oldest);
    }
    return (await fetching).value;
  }

  /** Drops a token ACR refused (revoked, or permissions changed) so the next call fetches a new one. */
  invalidate(scope: string): void {
    this.accessTokens.delete(scope);
    this.refreshToken = undefined;
  }

  private async fetchAccessToken(scope: string): Promise<CachedToken> {
    const form: Record<string, string> =
      this.credentials.type === 'password'
        ? {
            grant_type: 'password',
            service: this.service,
            scope,
            username: this.credentials.username,
            password: this.credentials.password,
          }
        : {
            grant_type: 'refresh_token',
            service: this.service,
            scope,
            refresh_token: (await this.currentRefreshToken()).value,
          };
    const body = await this.postForm('/oauth2/token', form, 'get an ACR access token');
    const token = (body as { access_token?: unknown }).access_token;
    if (typeof token !== 'string' || token === '') throw new Error('ACR /oauth2/token answered without access_token');
    return this.cache(token);
  }

  private async currentRefreshToken(): Promise<CachedToken> {
    const cached = await this.refreshToken?.catch(() => undefined);
    if (cached !== undefined && cached.refreshAt > this.now()) return cached;
    this.refreshToken = this.exchange();
    return this.refreshToken;
  }

  private async exchange(): Promise<CachedToken> {
    if (this.credentials.type !== 'identity') throw new Error('exchange needs an identity');
    const entraToken = await this.credentials.credential.getToken(`${this.credentials.audience}/.default`);
    if (entraToken === null) throw new Error(`no Entra ID token for ${this.credentials.audience}`);
    const body = await this.postForm(
      '/oauth2/exchange',
      { grant_type: 'access_token', service: this.service, access_token: entraToken.token },
      'exchange an Entra ID token',
    );
    const token = (body as { refresh_token?: unknown }).refresh_token;
    if (typeof token !== 'string' || token === '')
      throw new Error('ACR /oauth2/exchange answered without refresh_token');
    return this.cache(token);
  }

  private async postForm(path: string, form: Record<string, string>, what: string): Promise<unknown> {
    const request: RawRequest = {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      // Token requests create nothing, so repeating one after a fault is safe.
      idempotent: true,
    };
    const response = await this.transport.send(request);
    if (response.status !== 200) throw responseError(request, response, `could not ${what}`);
    return JSON.parse(response.bodyText) as unknown;
  }

  private cache(token: string): CachedToken {
    const expiresAt = jwtExpiry(token) ?? this.now() + fallbackLifetimeMs;
    return { value: token, refreshAt: Math.max(this.now(), expiresAt - expiryMarginMs) };
  }
}

/** Reads `exp` (seconds) from a JWT without verifying it: only to know when to refresh. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
