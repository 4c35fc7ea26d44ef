import { randomUUID } from 'node:crypto';
import type { EmulatorClock, EmulatorRequest, EmulatorResponse } from '../contract.js';
import type { RegistryRuntime } from '../state.js';
import { RegistryError } from './errors.js';
import { signJwt, verifyJwt } from './jwt.js';
import { ALL_REPOSITORY_ACTIONS } from './permissions.js';

/**
 * ACR's token service and per-route authorization (docs/sources.md § ACR token flow): 401 challenges,
 * `/oauth2/exchange` (AAD → ACR refresh token), `/oauth2/token` (refresh/password grants → access token with `access`
 * claims).
 */

export const NULL_GUID = '00000000-0000-0000-0000-000000000000';
const ISSUER = 'Azure Container Registry';
/** ACR refresh tokens live 3 h (`az acr login --expose-token`); access tokens 75 min. Both on the virtual clock. */
export const REFRESH_TOKEN_TTL_SECONDS = 3 * 3600;
export const ACCESS_TOKEN_TTL_SECONDS = 75 * 60;
const UNAUTHORIZED_MESSAGE = 'authentication required, visit https://aka.ms/acr/authorization for more information.';

export interface AadIdentity {
  readonly oid: string;
  readonly tid?: string;
  readonly [claim: string]: unknown;
}

/** Approves an AAD access token presented to `/oauth2/exchange` (the Entra module supplies the real one). */
export type AccessTokenVerifier = (token: string) => AadIdentity | undefined | Promise<AadIdentity | undefined>;

/** For tests without the Entra module: any non-empty token is a valid identity. */
export const acceptAnyAccessToken: AccessTokenVerifier = (token) => (token.length > 0 ? { oid: NULL_GUID } : undefined);

export interface AuthOptions {
  readonly secret: Buffer;
  readonly clock: EmulatorClock;
  readonly verifyAccessToken: AccessTokenVerifier;
}

export interface Access {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** What a route needs: nothing (token endpoints), any valid credential (`/v2/`), or a scope. */
export type Requirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | {
      readonly kind: 'scope';
      readonly access: Access;
      readonly anonymousPull: boolean;
      /**
       * Actions the caller's role assignments must allow besides the token's scope: ACR checks some requests
       * against the identity's roles whatever the token holds (the CLI asks `pull,push` to switch streaming off
       * as well as on). Only role-restricted identities are checked; see `RegistryPermissions.switchOffActions`.
       */
      readonly roles?: Access;
    };

type Principal =
  | { readonly kind: 'full'; readonly subject: string }
  /** An Entra identity presenting its ACR refresh token as a password: its role assignments decide. */
  | { readonly kind: 'identity'; readonly subject: string }
  | { readonly kind: 'token'; readonly subject: string; readonly access: readonly Access[] }
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'invalid' };

const REPOSITORY_ACTIONS = new Set([...ALL_REPOSITORY_ACTIONS, '*']);

export function scopeString(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

/** `repository:team-a/app:pull,push` → Access. The name is everything between the first and last colon. */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a.length > 0),
  };
}

function nowSeconds(clock: EmulatorClock): number {
  return Math.floor(clock.now().getTime() / 1000);
}

function realmFor(runtime: RegistryRuntime, request: EmulatorRequest): string {
  // Plain-HTTP listener: point the realm at itself so `--dest-tls-verify=false` clients never need TLS.
  const tls = request.listener.kind !== 'registry' || request.listener.tls;
  return tls
    ? `https://${runtime.endpoints.loginServer}/oauth2/token`
    : `http://${runtime.endpoints.pushAddress}/oauth2/token`;
}

export function challenge(
  runtime: RegistryRuntime,
  request: EmulatorRequest,
  access: Access | undefined,
  error?: 'invalid_token' | 'insufficient_scope',
): EmulatorResponse {
  let header = `Bearer realm="${realmFor(runtime, request)}",service="${runtime.definition.loginServer}"`;
  if (access) header += `,scope="${scopeString(access)}"`;
  if (error) header += `,error="${error}"`;
  // `/v2/` answers detail:null (transcript); scoped challenges list the missing access like ACR does.
  const detail = access
    ? access.actions.map((action) => ({ Type: access.type, Name: access.name, Action: action }))
    : null;
  return new RegistryError(401, 'UNAUTHORIZED', UNAUTHORIZED_MESSAGE, detail, {
    'www-authenticate': header,
  }).toResponse();
}

function principalOf(runtime: RegistryRuntime, request: EmulatorRequest, options: AuthOptions): Principal {
  const header = request.headers.authorization;
  if (header === undefined || header.length === 0) return { kind: 'anonymous' };
  const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string | undefined];
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (
      passwordPrincipal(runtime, decoded.slice(0, colon), decoded.slice(colon + 1), options) ?? { kind: 'invalid' }
    );
  }
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'invalid' };
  const claims = verifyToken(runtime, value, options, 'access');
  if (!claims) return { kind: 'invalid' };
  return { kind: 'token', subject: String(claims.sub), access: accessClaims(claims.access) };
}

function accessClaims(value: unknown): Access[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { type, name, actions } = entry as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions)) return [];
    return [{ type, name, actions: actions.filter((a): a is string => typeof a === 'string') }];
  });
}

/** Admin user, or the null GUID with an ACR refresh token as password (docker login convention). */
function passwordPrincipal(
  runtime: RegistryRuntime,
  username: string,
  password: string,
  options: AuthOptions,
): Extract<Principal, { kind: 'full' | 'identity' }> | undefined {
  const admin = runtime.definition.adminUser;
  if (admin && username === admin.username && password === admin.password) return { kind: 'full', subject: username };
  if (username === NULL_GUID) {
    const claims = verifyToken(runtime, password, options, 'refresh');
    if (claims) return { kind: 'identity', subject: String(claims.sub) };
  }
  return undefined;
}

function verifyToken(
  runtime: RegistryRuntime,
  token: string,
  options: AuthOptions,
  use: 'access' | 'refresh',
): Record<string, unknown> | undefined {
  const claims = verifyJwt(token, options.secret);
  if (!claims) return undefined;
  if (claims.aud !== runtime.definition.loginServer) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds(options.clock)) return undefined;
  const isRefresh = claims.grant_type === 'refresh_token' && claims.version === '1.0';
  return (use === 'refresh') === isRefresh ? claims : undefined;
}

function covers(granted: readonly Access[], needed: Access): boolean {
  return needed.actions.every((action) =>
    granted.some(
      (g) =>
        g.type === needed.type && g.name === needed.name && (g.actions.includes(action) || g.actions.includes('*')),
    ),
  );
}

/** Whether the identity's role assignments allow every action of `needed` (registry/permissions.ts). */
function rolesAllow(runtime: RegistryRuntime, subject: string, needed: Access): boolean {
  if (needed.type === 'registry') return needed.name === 'catalog' && runtime.permissions.mayListCatalog(subject);
  if (needed.type !== 'repository') return false;
  const allowed = runtime.permissions.repositoryActions(subject, needed.name);
  return needed.actions.every((action) => allowed.has(action));
}

/**
 * `403 DENIED` (the distribution-spec code): the caller is authenticated but its roles do not allow the request, so
 * a new token would not help — unlike a token that merely lacks the scope (401, get another). What ACR answers here
 * is not recorded (docs/assumptions.md A7).
 */
export function denied(access: Access): EmulatorResponse {
  const detail = access.actions.map((action) => ({ Type: access.type, Name: access.name, Action: action }));
  return new RegistryError(403, 'DENIED', 'requested access to the resource is denied', detail).toResponse();
}

/** Undefined when the request may proceed, else the 401 or 403 to send. */
export function authorize(
  runtime: RegistryRuntime,
  request: EmulatorRequest,
  requirement: Requirement,
  options: AuthOptions,
): EmulatorResponse | undefined {
  if (requirement.kind === 'public') return undefined;
  const principal = principalOf(runtime, request, options);
  const access = requirement.kind === 'scope' ? requirement.access : undefined;
  const roles = requirement.kind === 'scope' ? requirement.roles : undefined;
  const refusedByRoles = (subject: string): EmulatorResponse | undefined =>
    roles && runtime.permissions.restricts(subject) && !rolesAllow(runtime, subject, roles) ? denied(roles) : undefined;
  switch (principal.kind) {
    case 'full':
      return undefined;
    case 'identity':
      if (access && !rolesAllow(runtime, principal.subject, access)) return denied(access);
      return refusedByRoles(principal.subject);
    case 'invalid':
      return challenge(runtime, request, access, 'invalid_token');
    case 'anonymous':
      if (requirement.kind === 'scope' && requirement.anonymousPull && runtime.definition.anonymousPullEnabled)
        return undefined;
      return challenge(runtime, request, access);
    case 'token':
      if (!access || covers(principal.access, access)) return refusedByRoles(principal.subject);
      if (runtime.permissions.restricts(principal.subject) && !rolesAllow(runtime, principal.subject, access))
        return denied(access);
      return challenge(runtime, request, access, 'insufficient_scope');
  }
}

// ---- token service --------------------------------------------------------------------------------------

function issueRefreshToken(runtime: RegistryRuntime, identity: AadIdentity, options: AuthOptions): string {
  const iat = nowSeconds(options.clock);
  return signJwt(
    {
      jti: randomUUID(),
      sub: identity.oid,
      nbf: iat,
      exp: iat + REFRESH_TOKEN_TTL_SECONDS,
      iat,
      iss: ISSUER,
      aud: runtime.definition.loginServer,
      version: '1.0',
      rid: runtime.definition.name,
      grant_type: 'refresh_token',
      ...(identity.tid === undefined ? {} : { tenant: identity.tid }),
      permissions: { actions: ['read', 'write', 'delete', 'deleted/read', 'deleted/restore/action'], notActions: null },
      roles: [],
    },
    options.secret,
  );
}

function issueAccessToken(
  runtime: RegistryRuntime,
  subject: string,
  grantType: string,
  access: readonly Access[],
  options: AuthOptions,
): string {
  const iat = nowSeconds(options.clock);
  return signJwt(
    {
      jti: randomUUID(),
      sub: subject,
      nbf: iat,
      exp: iat + ACCESS_TOKEN_TTL_SECONDS,
      iat,
      iss: ISSUER,
      aud: runtime.definition.loginServer,
      version: '2.0',
      rid: runtime.definition.name,
      access,
      roles: [],
      grant_type: grantType,
    },
    options.secret,
  );
}

/** Who a token is issued to: the admin user, an Entra identity (its roles decide), or nobody. */
type Grantee = { readonly kind: 'full' } | { readonly kind: 'identity'; readonly subject: string } | 'anonymous';

/**
 * Requested scopes narrowed to what the grantee may have (full: all known actions; an identity: what its roles
 * allow; anonymous: pull where anonymous pull is on). A scope the caller may not have is left out of the token, never
 * refused: the token server takes "the intersection of the set of requested actions on each resource and the set of
 * actions that the client has in fact been granted", and a subset "must not be considered an error" (Docker registry
 * token authentication spec, docs.docker.com/reference/api/registry/auth/, which ACR's token service implements:
 * docs/sources.md § ACR token flow).
 */
function grant(requested: readonly string[], grantee: Grantee, runtime: RegistryRuntime): Access[] {
  const identity = grantee === 'anonymous' || grantee.kind === 'full' ? undefined : grantee.subject;
  return requested
    .flatMap((value) => value.split(' '))
    .flatMap((raw) => {
      const scope = parseScope(raw);
      if (!scope) return [];
      if (scope.type === 'registry') {
        if (grantee === 'anonymous' || scope.name !== 'catalog') return [];
        if (identity !== undefined && !runtime.permissions.mayListCatalog(identity)) return [];
        return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
      }
      if (scope.type !== 'repository') return [];
      const roles = identity === undefined ? undefined : runtime.permissions.repositoryActions(identity, scope.name);
      const unrestricted = identity === undefined || !runtime.permissions.restricts(identity);
      const allowed = scope.actions.filter((a) => {
        if (grantee === 'anonymous') return a === 'pull' && runtime.definition.anonymousPullEnabled;
        if (!REPOSITORY_ACTIONS.has(a)) return false;
        return a === '*' ? unrestricted : (roles?.has(a) ?? true);
      });
      return allowed.length > 0 ? [{ ...scope, actions: allowed }] : [];
    });
}

const tokenError = (status: number, code: string, message: string): EmulatorResponse =>
  new RegistryError(status, code, message, null).toResponse();

function checkService(runtime: RegistryRuntime, service: string | null): EmulatorResponse | undefined {
  if (service !== runtime.definition.loginServer) {
    return tokenError(400, 'UNSUPPORTED', `service must be ${runtime.definition.loginServer}`);
  }
  return undefined;
}

/** Routes `/oauth2/exchange` and `/oauth2/token`; undefined for any other path. */
export async function handleTokenRoutes(
  runtime: RegistryRuntime,
  request: EmulatorRequest,
  options: AuthOptions,
): Promise<EmulatorResponse | undefined> {
  if (request.path === '/oauth2/exchange' && request.method === 'POST') {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const invalidService = checkService(runtime, form.get('service'));
    if (invalidService) return invalidService;
    if (form.get('grant_type') !== 'access_token')
      return tokenError(400, 'UNSUPPORTED', 'grant_type must be access_token');
    const identity = await options.verifyAccessToken(form.get('access_token') ?? '');
    if (!identity) return tokenError(401, 'UNAUTHORIZED', 'the AAD access token is invalid or expired');
    const tenant = form.get('tenant');
    return {
      status: 200,
      body: {
        refresh_token: issueRefreshToken(
          runtime,
          tenant && !identity.tid ? { ...identity, tid: tenant } : identity,
          options,
        ),
      },
    };
  }
  if (request.path !== '/oauth2/token') return undefined;
  if (request.method === 'GET') return dockerTokenFlow(runtime, request, options);
  if (request.method !== 'POST') return undefined;

  const form = new URLSearchParams(request.body.toString('utf8'));
  const invalidService = checkService(runtime, form.get('service'));
  if (invalidService) return invalidService;
  const scopes = form.getAll('scope');
  const grantType = form.get('grant_type');
  if (grantType === 'refresh_token') {
    const claims = verifyToken(runtime, form.get('refresh_token') ?? '', options, 'refresh');
    if (!claims) return tokenError(401, 'UNAUTHORIZED', 'the refresh token is invalid or expired');
    return {
      status: 200,
      body: {
        access_token: issueAccessToken(
          runtime,
          String(claims.sub),
          'refresh_token',
          grant(scopes, { kind: 'identity', subject: String(claims.sub) }, runtime),
          options,
        ),
      },
    };
  }
  if (grantType === 'password') {
    const username = form.get('username');
    const password = form.get('password');
    // The JS SDK's anonymous mode posts `refresh_token=&grant_type=password` without a username (docs/sources.md).
    if (!username) {
      return {
        status: 200,
        body: {
          access_token: issueAccessToken(runtime, '', 'anonymous', grant(scopes, 'anonymous', runtime), options),
        },
      };
    }
    const principal = passwordPrincipal(runtime, username, password ?? '', options);
    if (!principal) return tokenError(401, 'UNAUTHORIZED', UNAUTHORIZED_MESSAGE);
    return { status: 200, body: { access_token: passwordAccessToken(runtime, principal, scopes, options) } };
  }
  return tokenError(400, 'UNSUPPORTED', 'grant_type must be refresh_token or password');
}

/** An access token for the admin user (every action) or an identity signed in with its refresh token (its roles). */
function passwordAccessToken(
  runtime: RegistryRuntime,
  principal: { readonly kind: 'full' | 'identity'; readonly subject: string },
  scopes: readonly string[],
  options: AuthOptions,
): string {
  const grantee: Grantee = principal.kind === 'full' ? { kind: 'full' } : principal;
  return issueAccessToken(runtime, principal.subject, 'password', grant(scopes, grantee, runtime), options);
}

/** Docker token protocol (`GET realm?service=&scope=`, optional Basic auth): what skopeo/containerd use. */
function dockerTokenFlow(runtime: RegistryRuntime, request: EmulatorRequest, options: AuthOptions): EmulatorResponse {
  const invalidService = checkService(runtime, request.query.get('service'));
  if (invalidService) return invalidService;
  const principal = principalOf(runtime, request, options);
  const scopes = request.query.getAll('scope');
  if (principal.kind === 'full' || principal.kind === 'identity') {
    return { status: 200, body: { access_token: passwordAccessToken(runtime, principal, scopes, options) } };
  }
  if (principal.kind === 'anonymous') {
    return {
      status: 200,
      body: { access_token: issueAccessToken(runtime, '', 'anonymous', grant(scopes, 'anonymous', runtime), options) },
    };
  }
  return tokenError(401, 'UNAUTHORIZED', UNAUTHORIZED_MESSAGE);
}
