/**
 * Entra's HTTP surface: instance discovery, OpenID configuration, JWKS and the v2.0 token endpoint
 * (client_credentials only). State (clients, signing key, clock) comes in through HandlerDeps.
 */
import type { EmulatorClock, EmulatorRequest, EmulatorResponse, RouteHandler } from '../contract.js';
import { aadsts, aadstsResponse, type AadstsError } from './aadsts.js';
import type { EntraClient } from './entra.js';

/** Entra answers these multi-tenant aliases; client credentials need a real tenant. */
export const TENANT_ALIASES: ReadonlySet<string> = new Set(['common', 'organizations']);

export interface HandlerDeps {
  readonly tenantId: string;
  readonly lifetime: number;
  readonly clock: EmulatorClock;
  jwks(): { keys: Record<string, string>[] };
  findClient(clientId: string): EntraClient | undefined;
  issueAccessToken(clientId: string, resource: string): string;
}

const OPENID_CONFIG = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/;
const TOKEN = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;
const KEYS = /^\/([^/]+)\/discovery\/(?:v2\.0\/)?keys$/;

export function createEntraHandler(deps: HandlerDeps): RouteHandler {
  const knownTenant = (tenant: string): boolean =>
    tenant.toLowerCase() === deps.tenantId.toLowerCase() || TENANT_ALIASES.has(tenant.toLowerCase());
  return (request) => {
    const { method, path } = request;
    if (method === 'GET' && path === '/common/discovery/instance') return Promise.resolve(instanceDiscovery(request));
    let match = OPENID_CONFIG.exec(path);
    if (method === 'GET' && match) {
      const tenant = match[1] ?? '';
      if (!knownTenant(tenant))
        return Promise.resolve(aadstsResponse(aadsts.tenantNotFound(tenant), deps.clock.now(), correlation(request)));
      return Promise.resolve(openIdConfiguration(request, tenant, deps.tenantId));
    }
    match = KEYS.exec(path);
    if (method === 'GET' && match) return Promise.resolve({ status: 200, body: deps.jwks() });
    match = TOKEN.exec(path);
    if (method === 'POST' && match) return Promise.resolve(tokenEndpoint(request, match[1] ?? '', deps, knownTenant));
    return Promise.resolve(undefined);
  };
}

function correlation(request: EmulatorRequest): string | undefined {
  return request.headers['client-request-id'] ?? request.headers['x-ms-client-request-id'];
}

function requestOrigin(request: EmulatorRequest): string {
  return `https://${request.headers.host ?? '127.0.0.1'}`;
}

/**
 * MSAL asks login.microsoftonline.com which hosts alias the authority. When that request is tunnelled here (see
 * discovery-tunnel.ts) the Host header is login.microsoftonline.com, so the authority comes from the query.
 */
function instanceDiscovery(request: EmulatorRequest): EmulatorResponse {
  const endpoint = request.query.get('authorization_endpoint');
  let host = request.headers.host ?? '127.0.0.1';
  let tenant = 'common';
  if (endpoint) {
    try {
      const url = new URL(endpoint);
      host = url.host;
      tenant = url.pathname.split('/').filter(Boolean)[0] ?? tenant;
    } catch {
      return {
        status: 400,
        body: { error: 'invalid_instance', error_description: 'AADSTS50049: Unknown or invalid instance.' },
      };
    }
  }
  return {
    status: 200,
    body: {
      tenant_discovery_endpoint: `https://${host}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    },
  };
}

function openIdConfiguration(request: EmulatorRequest, tenant: string, tenantId: string): EmulatorResponse {
  const origin = requestOrigin(request);
  // Entra answers the multi-tenant aliases with a `{tenantid}` placeholder that MSAL substitutes.
  const issuerTenant = TENANT_ALIASES.has(tenant.toLowerCase()) ? '{tenantid}' : tenantId;
  const base = `${origin}/${tenant}`;
  return {
    status: 200,
    body: {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${origin}/${issuerTenant}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'oid', 'tid', 'ver'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    },
  };
}

function tokenEndpoint(
  request: EmulatorRequest,
  tenant: string,
  deps: HandlerDeps,
  knownTenant: (tenant: string) => boolean,
): EmulatorResponse {
  const now = deps.clock.now();
  const fail = (error: AadstsError): EmulatorResponse => aadstsResponse(error, now, correlation(request));
  if (!knownTenant(tenant) || TENANT_ALIASES.has(tenant.toLowerCase())) return fail(aadsts.tenantNotFound(tenant));
  const form = new URLSearchParams(request.body.toString('utf8'));
  const basic = parseBasicAuth(request.headers.authorization);
  const grantType = form.get('grant_type');
  if (!grantType) return fail(aadsts.missingParameter('grant_type'));
  if (grantType !== 'client_credentials') return fail(aadsts.unsupportedGrantType(grantType));
  const clientId = form.get('client_id') ?? basic?.user;
  if (!clientId) return fail(aadsts.missingParameter('client_id'));
  const scope = form.get('scope');
  if (!scope) return fail(aadsts.missingParameter('scope'));
  const client = deps.findClient(clientId);
  if (!client) return fail(aadsts.applicationNotFound(clientId, tenant));
  const secret = form.get('client_secret') ?? basic?.password;
  if (secret === null || secret === undefined) return fail(aadsts.missingCredential());
  if (secret !== client.clientSecret) return fail(aadsts.invalidSecret(clientId));
  // Client credentials take exactly one `<resource>/.default`; MSAL may add OIDC scopes, which Entra ignores here.
  const resourceScopes = scope
    .split(' ')
    .filter((s) => s !== '' && !['openid', 'profile', 'offline_access'].includes(s));
  const only = resourceScopes.length === 1 ? resourceScopes[0] : undefined;
  if (only === undefined || !only.endsWith('/.default')) return fail(aadsts.invalidScope(scope));
  const resource = only.slice(0, -'/.default'.length);
  return {
    status: 200,
    headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
    body: {
      token_type: 'Bearer',
      expires_in: deps.lifetime,
      ext_expires_in: deps.lifetime,
      access_token: deps.issueAccessToken(clientId, resource),
    },
  };
}

function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header?.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { user: decodeURIComponent(decoded.slice(0, colon)), password: decodeURIComponent(decoded.slice(colon + 1)) };
}
