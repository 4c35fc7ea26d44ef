/**
 * Minimal Microsoft Entra ID: enough of the v2.0 endpoints for MSAL node (as driven by @azure/identity 4.13's
 * ClientSecretCredential / EnvironmentCredential / DefaultAzureCredential) to run the client-credentials flow.
 *
 * Observed MSAL call sequence (AZURE_LOG_LEVEL=verbose against a logging server):
 *   1. GET https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=…
 *      — hard-coded host, skipped only when identity passes knownAuthorities (disableInstanceDiscovery, or
 *      tenant "adfs");
 *   2. GET {authority}/v2.0/.well-known/openid-configuration — the issuer's origin must equal the authority's;
 *   3. POST {token_endpoint} form grant_type=client_credentials&client_id&client_secret&scope=<resource>/.default.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorClock, RouteHandler } from '../contract.js';
import { createSigningKey, signJwt, toJwk, verifyJwtSignature } from './jwt.js';
import { createEntraHandler } from './routes.js';

/** An app registration with one client secret. */
export interface EntraClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Service principal object id (the token's `oid`/`sub`); a fresh uuid when omitted. */
  readonly objectId?: string;
}

export interface EntraOptions {
  readonly clock: EmulatorClock;
  /** The one tenant this emulator knows (AZURE_TENANT_ID). */
  readonly tenantId: string;
  readonly clients?: readonly EntraClient[];
  /** Entra issues app tokens for 60–90 min; 3599 s is what `expires_in` usually says. */
  readonly tokenLifetimeSeconds?: number;
  /** Leeway applied by verifyAccessToken to exp/nbf; Azure resource providers allow about 5 minutes. */
  readonly clockSkewSeconds?: number;
}

/** Claims of the access tokens this emulator issues (Entra v1 app-token shape, as ARM and ACR receive). */
export interface AccessTokenClaims {
  readonly aud: string;
  readonly iss: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly appid: string;
  readonly appidacr: string;
  readonly idp: string;
  readonly idtyp: string;
  readonly oid: string;
  readonly sub: string;
  readonly tid: string;
  readonly uti: string;
  readonly ver: string;
}

export type TokenVerification =
  | { readonly ok: true; readonly claims: AccessTokenClaims }
  | {
      readonly ok: false;
      readonly reason: 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience';
      readonly message: string;
      /** Present when the signature was valid (lets callers echo the audience or expiry in their error). */
      readonly claims?: AccessTokenClaims;
    };

export interface Entra {
  /** Mount on the management listener (HTTPS). */
  readonly handler: RouteHandler;
  readonly tenantId: string;
  /** Checks signature (this instance's key), exp/nbf on the emulator clock, and optionally the audience. */
  verifyAccessToken(token: string, expectedAudience?: string | readonly string[]): TokenVerification;
  /** Mints a token directly (tests, or other emulator modules that need a valid caller). */
  issueAccessToken(clientId: string, resource: string): string;
  registerClient(client: EntraClient): void;
  removeClient(clientId: string): boolean;
  /** The JWKS document served at `/{tenant}/discovery/v2.0/keys`. */
  jwks(): { keys: Record<string, string>[] };
}

/** Audiences compare case-insensitively and without a trailing slash (Entra accepts both spellings of ARM). */
export function normalizeAudience(audience: string): string {
  return audience.trim().toLowerCase().replace(/\/+$/, '');
}

export function createEntra(options: EntraOptions): Entra {
  const key = createSigningKey();
  const clients = new Map<string, Required<EntraClient>>();
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const skew = options.clockSkewSeconds ?? 300;
  const tenantId = options.tenantId;
  const registerClient = (client: EntraClient): void => {
    clients.set(client.clientId, { ...client, objectId: client.objectId ?? randomUUID() });
  };
  for (const client of options.clients ?? []) registerClient(client);

  const issueAccessToken = (clientId: string, resource: string): string => {
    const client = clients.get(clientId);
    const now = Math.floor(options.clock.now().getTime() / 1000);
    const objectId = client?.objectId ?? randomUUID();
    const claims: AccessTokenClaims = {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      appid: clientId,
      appidacr: '1',
      idp: `https://sts.windows.net/${tenantId}/`,
      idtyp: 'app',
      oid: objectId,
      sub: objectId,
      tid: tenantId,
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ver: '1.0',
    };
    return signJwt(key, claims);
  };

  const verifyAccessToken = (token: string, expectedAudience?: string | readonly string[]): TokenVerification => {
    const raw = verifyJwtSignature(key, token);
    if (raw === undefined) {
      return token.split('.').length === 3
        ? { ok: false, reason: 'signature', message: 'The token signature is not valid for this emulator.' }
        : { ok: false, reason: 'malformed', message: 'The token is not a JWT.' };
    }
    const claims = raw as unknown as AccessTokenClaims;
    if (typeof claims.exp !== 'number' || typeof claims.aud !== 'string') {
      return { ok: false, reason: 'malformed', message: 'The token lacks exp or aud.' };
    }
    const now = options.clock.now().getTime() / 1000;
    if (claims.exp + skew < now) {
      return {
        ok: false,
        reason: 'expired',
        message: `The token expired at ${new Date(claims.exp * 1000).toISOString()}.`,
        claims,
      };
    }
    if (typeof claims.nbf === 'number' && claims.nbf - skew > now) {
      return { ok: false, reason: 'not-yet-valid', message: 'The token is not valid yet.', claims };
    }
    if (expectedAudience !== undefined) {
      const allowed = (typeof expectedAudience === 'string' ? [expectedAudience] : expectedAudience).map(
        normalizeAudience,
      );
      if (!allowed.includes(normalizeAudience(claims.aud))) {
        return {
          ok: false,
          reason: 'audience',
          message: `The token audience '${claims.aud}' is not accepted.`,
          claims,
        };
      }
    }
    return { ok: true, claims };
  };

  const handler = createEntraHandler({
    tenantId,
    lifetime,
    clock: options.clock,
    jwks: () => ({ keys: [toJwk(key)] }),
    findClient: (clientId) => clients.get(clientId),
    issueAccessToken,
  });

  return {
    handler,
    tenantId,
    verifyAccessToken,
    issueAccessToken,
    registerClient,
    removeClient: (clientId) => clients.delete(clientId),
    jwks: () => ({ keys: [toJwk(key)] }),
  };
}
