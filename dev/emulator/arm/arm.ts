/**
 * The ARM subset @azure/arm-containerregistry 12 uses for registries and connected registries (read-only).
 * Order of checks mirrors ARM: route → bearer token → api-version → subscription → resource group → resource.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, RegistryDefinition, RouteHandler } from '../contract.js';
import type { TokenVerification } from '../entra/entra.js';
import type { ConnectedRegistryStore, StoredConnectedRegistry } from './connected-registries.js';
import { armErrors } from './errors.js';
import { connectedRegistryResource, registryResource, type ArmRegistry } from './resources.js';

/** What ARM accepts as `aud` for its own tokens (Azure public cloud). */
export const ARM_AUDIENCES: readonly string[] = [
  'https://management.core.windows.net/',
  'https://management.core.windows.net',
  'https://management.azure.com/',
  'https://management.azure.com',
];

export interface ArmHandlerOptions {
  /** Live view of the emulator's registries (a function so the core can add registries at runtime). */
  readonly registries: () => readonly ArmRegistry[];
  readonly connectedRegistries: ConnectedRegistryStore;
  /** Usually `entra.verifyAccessToken`. */
  readonly verifyAccessToken: (token: string, expectedAudience?: string | readonly string[]) => TokenVerification;
  readonly tenantId: string;
  /**
   * Extra accepted audiences. The SDK asks for `${endpoint}/.default`, so a client pointed at
   * `https://127.0.0.1:PORT` without `credentials.scopes` requests that audience; add it here to accept it.
   */
  readonly extraAudiences?: readonly string[];
  /** Items per page before a nextLink is emitted (ARM pages are large; tests use small values). */
  readonly pageSize?: number;
  /** ISO creation time reported for registries; defaults to the time the handler was created. */
  readonly registryCreatedAt?: string;
}

const PROVIDER = String.raw`providers/microsoft\.containerregistry/registries`;
const ROUTE = new RegExp(
  String.raw`^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/${PROVIDER}(?:/([^/]+)(?:/(connectedregistries)(?:/([^/]+))?)?)?/?$`,
  'i',
);

interface Route {
  readonly subscriptionId: string;
  readonly resourceGroup: string | undefined;
  readonly registry: string | undefined;
  readonly connectedRegistries: boolean;
  readonly connectedRegistry: string | undefined;
}

function parseRoute(path: string): Route | undefined {
  const match = ROUTE.exec(path);
  if (!match) return undefined;
  const [, subscriptionId = '', resourceGroup, registry, connected, connectedRegistry] = match;
  // The SDK cannot address a single registry without a resource group; ARM would 404 such a path too.
  if (registry !== undefined && resourceGroup === undefined) return undefined;
  return { subscriptionId, resourceGroup, registry, connectedRegistries: connected !== undefined, connectedRegistry };
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function createArmHandler(options: ArmHandlerOptions): RouteHandler {
  const pageSize = options.pageSize ?? 100;
  const createdAt = options.registryCreatedAt ?? options.connectedRegistries.clock.now().toISOString();
  const audiences = [...ARM_AUDIENCES, ...(options.extraAudiences ?? [])];

  const authenticate = (request: EmulatorRequest): EmulatorResponse | undefined => {
    const header = request.headers.authorization;
    if (!header) return armErrors.missingAuthorization(options.tenantId);
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (!token) return armErrors.invalidToken(options.tenantId);
    const result = options.verifyAccessToken(token, audiences);
    if (result.ok) return undefined;
    switch (result.reason) {
      case 'expired':
        return armErrors.expiredToken(
          options.tenantId,
          new Date((result.claims?.exp ?? 0) * 1000),
          options.connectedRegistries.clock.now(),
        );
      case 'audience':
        return armErrors.wrongAudience(options.tenantId, result.claims?.aud ?? '', ARM_AUDIENCES);
      default:
        return armErrors.invalidToken(options.tenantId);
    }
  };

  return (request) => {
    const route = parseRoute(request.path);
    if (!route) return Promise.resolve(undefined);
    return Promise.resolve(withArmHeaders(request, handle(request, route)));
  };

  function handle(request: EmulatorRequest, route: Route): EmulatorResponse {
    const denied = authenticate(request);
    if (denied) return denied;
    if (request.method !== 'GET') return armErrors.unsupportedMethod(request.method, request.path);
    if (!request.query.get('api-version')) return armErrors.missingApiVersion();

    const inSubscription = options.registries().filter((r) => same(r.subscriptionId, route.subscriptionId));
    if (inSubscription.length === 0) return armErrors.subscriptionNotFound(route.subscriptionId);
    if (route.resourceGroup === undefined)
      return page(
        request,
        inSubscription.map((r) => registryResource(r, { createdAt, tenantId: options.tenantId })),
      );

    const inGroup = inSubscription.filter((r) => same(r.resourceGroup, route.resourceGroup ?? ''));
    if (inGroup.length === 0) return armErrors.resourceGroupNotFound(route.resourceGroup);
    if (route.registry === undefined)
      return page(
        request,
        inGroup.map((r) => registryResource(r, { createdAt, tenantId: options.tenantId })),
      );

    const registry = inGroup.find((r) => same(r.name, route.registry ?? ''));
    if (!registry)
      return armErrors.resourceNotFound(
        `Microsoft.ContainerRegistry/registries/${route.registry}`,
        route.resourceGroup,
      );
    if (!route.connectedRegistries)
      return { status: 200, body: registryResource(registry, { createdAt, tenantId: options.tenantId }) };

    if (route.connectedRegistry === undefined) {
      const filter = request.query.get('$filter');
      const matches = filter ? compileFilter(filter, registry) : () => true;
      if (!matches) return armErrors.invalidFilter(filter ?? '');
      const items = options.connectedRegistries.list(registry.name).filter(matches);
      return page(
        request,
        items.map((cr) => connectedRegistryResource(registry, cr)),
      );
    }
    const cr = options.connectedRegistries.get(registry.name, route.connectedRegistry);
    if (!cr) {
      return armErrors.resourceNotFound(
        `Microsoft.ContainerRegistry/registries/${registry.name}/connectedRegistries/${route.connectedRegistry}`,
        registry.resourceGroup,
      );
    }
    return { status: 200, body: connectedRegistryResource(registry, cr) };
  }

  /** ARM list paging: `{value, nextLink}` where nextLink is absolute and carries `$skipToken`. */
  function page(request: EmulatorRequest, items: readonly Record<string, unknown>[]): EmulatorResponse {
    const skip = Number.parseInt(request.query.get('$skipToken') ?? '0', 10) || 0;
    const value = items.slice(skip, skip + pageSize);
    const body: Record<string, unknown> = { value };
    if (skip + pageSize < items.length) {
      const next = new URLSearchParams(request.query);
      next.set('$skipToken', String(skip + pageSize));
      body.nextLink = `https://${request.headers.host ?? '127.0.0.1'}${request.rawPath}?${next.toString()}`;
    }
    return { status: 200, body };
  }
}

function withArmHeaders(request: EmulatorRequest, response: EmulatorResponse): EmulatorResponse {
  const requestId = randomUUID();
  return {
    ...response,
    headers: {
      'cache-control': 'no-cache',
      'x-ms-request-id': requestId,
      'x-ms-correlation-request-id': request.headers['x-ms-correlation-request-id'] ?? requestId,
      ...(response.headers ?? {}),
    },
  };
}

/**
 * `$filter` as documented for connectedRegistries list: `parent.id`, `mode`, `connectionState` with `eq`, joined by
 * `and`.
 */
function compileFilter(
  filter: string,
  registry: RegistryDefinition,
): ((cr: StoredConnectedRegistry) => boolean) | undefined {
  const clauses = filter.split(/\s+and\s+/i);
  const predicates: ((cr: StoredConnectedRegistry) => boolean)[] = [];
  for (const clause of clauses) {
    const match = /^\s*(parent\.id|mode|connectionState)\s+eq\s+'([^']*)'\s*$/i.exec(clause);
    if (!match) return undefined;
    const field = (match[1] ?? '').toLowerCase();
    const value = (match[2] ?? '').toLowerCase();
    if (field === 'mode') predicates.push((cr) => cr.mode.toLowerCase() === value);
    else if (field === 'connectionstate') predicates.push((cr) => cr.connectionState.toLowerCase() === value);
    else {
      const registryId =
        `/subscriptions/${registry.subscriptionId}/resourcegroups/${registry.resourceGroup}/providers/microsoft.containerregistry/registries/${registry.name}`.toLowerCase();
      predicates.push((cr) =>
        cr.parentName === undefined
          ? false
          : `${registryId}/connectedregistries/${cr.parentName}`.toLowerCase() === value,
      );
    }
  }
  return (cr) => predicates.every((p) => p(cr));
}
