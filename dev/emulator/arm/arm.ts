/**
 * The ARM subset @azure/arm-containerregistry 12 uses for registries and connected registries (read-only).
 * Order of checks mirrors ARM: route → bearer token → api-version → subscription → resource group → resource.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, RegistryDefinition, RouteHandler } from '../contract.js';
import type { TokenVerification } from '../entra/entra.js';
import type { RegistryPermissions } from '../registry/permissions.js';
import type { ArmCloud } from './cloud.js';
import { handleCloudRoute, matchCloudRoute } from './cloud-routes.js';
import type { ConnectedRegistryStore, StoredConnectedRegistry } from './connected-registries.js';
import { armError, armErrors } from './errors.js';
import { connectedRegistryResource, registryResource, replicationResource, type ArmRegistry } from './resources.js';

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
  /**
   * Clusters, role assignments above registries, registry network settings, Microsoft.Network resources and hostile
   * switches (issue #20); without it only registries and connected registries are served.
   */
  readonly cloud?: ArmCloud;
  /** A registry's data-plane permission store: ARM lists the role assignments made on the registry from it. */
  readonly permissions?: (registry: string) => RegistryPermissions | undefined;
}

const PROVIDER = String.raw`providers/microsoft\.containerregistry/registries`;
const ROUTE = new RegExp(
  String.raw`^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/${PROVIDER}(?:/([^/]+)(?:/(connectedregistries|replications)(?:/([^/]+))?)?)?/?$`,
  'i',
);

interface Route {
  readonly subscriptionId: string;
  readonly resourceGroup: string | undefined;
  readonly registry: string | undefined;
  /** `registries/{name}/connectedRegistries` or `registries/{name}/replications`. */
  readonly child: 'connectedRegistries' | 'replications' | undefined;
  readonly childName: string | undefined;
}

function parseRoute(path: string): Route | undefined {
  const match = ROUTE.exec(path);
  if (!match) return undefined;
  const [, subscriptionId = '', resourceGroup, registry, child, childName] = match;
  // The SDK cannot address a single registry without a resource group; ARM would 404 such a path too.
  if (registry !== undefined && resourceGroup === undefined) return undefined;
  const kind =
    child === undefined ? undefined : child.toLowerCase() === 'replications' ? 'replications' : 'connectedRegistries';
  return { subscriptionId, resourceGroup, registry, child: kind, childName };
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function createArmHandler(options: ArmHandlerOptions): RouteHandler {
  const pageSize = options.pageSize ?? 100;
  const createdAt = options.registryCreatedAt ?? options.connectedRegistries.clock.now().toISOString();
  const audiences = [...ARM_AUDIENCES, ...(options.extraAudiences ?? [])];

  /** The caller's object id when the token is good, else the 401 to send. */
  const authenticate = (request: EmulatorRequest): EmulatorResponse | { readonly caller: string } => {
    const header = request.headers.authorization;
    if (!header) return armErrors.missingAuthorization(options.tenantId);
    const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    if (!token) return armErrors.invalidToken(options.tenantId);
    const result = options.verifyAccessToken(token, audiences);
    if (result.ok) return { caller: result.claims.oid };
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

  const cloud = options.cloud;
  return (request) => {
    const route = parseRoute(request.path);
    const cloudRoute = route || !cloud ? undefined : matchCloudRoute(request.path);
    if (!route && !cloudRoute) return Promise.resolve(undefined);
    const gate = authenticate(request);
    if (!('caller' in gate)) return Promise.resolve(withArmHeaders(request, gate));
    if (request.method !== 'GET')
      return Promise.resolve(withArmHeaders(request, armErrors.unsupportedMethod(request.method, request.path)));
    if (!request.query.get('api-version'))
      return Promise.resolve(withArmHeaders(request, armErrors.missingApiVersion()));
    if (cloudRoute && cloud) {
      const response = handleCloudRoute(cloudRoute, request, {
        cloud,
        registries: options.registries,
        permissions: options.permissions ?? (() => undefined),
        caller: gate.caller,
        page: (items) => page(request, items),
        createdAt,
      });
      return Promise.resolve(withArmHeaders(request, response));
    }
    return Promise.resolve(withArmHeaders(request, handle(request, route!, gate.caller)));
  };

  function handle(request: EmulatorRequest, route: Route, caller: string): EmulatorResponse {
    const refused = cloud?.forbidden.has('Microsoft.ContainerRegistry/registries/read');
    if (refused)
      return armError(
        403,
        'AuthorizationFailed',
        `The client '${caller}' with object id '${caller}' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read' over scope '${request.path}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
    const resource = (r: ArmRegistry): Record<string, unknown> =>
      registryResource(r, {
        createdAt,
        tenantId: options.tenantId,
        ...(cloud ? { network: cloud.network(r.name) } : {}),
      });

    const inSubscription = options.registries().filter((r) => same(r.subscriptionId, route.subscriptionId));
    if (inSubscription.length === 0) return armErrors.subscriptionNotFound(route.subscriptionId);
    if (route.resourceGroup === undefined) return page(request, inSubscription.map(resource));

    const inGroup = inSubscription.filter((r) => same(r.resourceGroup, route.resourceGroup ?? ''));
    if (inGroup.length === 0) return armErrors.resourceGroupNotFound(route.resourceGroup);
    if (route.registry === undefined) return page(request, inGroup.map(resource));

    const registry = inGroup.find((r) => same(r.name, route.registry ?? ''));
    if (!registry)
      return armErrors.resourceNotFound(
        `Microsoft.ContainerRegistry/registries/${route.registry}`,
        route.resourceGroup,
      );
    if (route.child === undefined) return { status: 200, body: resource(registry) };
    if (route.child === 'replications') {
      // The home region is listed too: `az acr replication list` "List all of the regions for a geo-replicated Azure
      // Container Registry" (learn.microsoft.com/cli/azure/acr/replication), and a geo-replicated registry shows its
      // home region among its replications in the portal. Geo-replication is Premium only, so others list none
      // (an assumption: what ACR answers for Basic/Standard is not recorded).
      const locations =
        registry.sku === 'Premium' ? [registry.location, ...(cloud?.network(registry.name).replicas ?? [])] : [];
      const replications = locations.map((location) => replicationResource(registry, location, createdAt));
      if (route.childName === undefined) return page(request, replications);
      const one = replications.find((r) => String(r.name).toLowerCase() === route.childName?.toLowerCase());
      return one
        ? { status: 200, body: one }
        : armErrors.resourceNotFound(
            `Microsoft.ContainerRegistry/registries/${registry.name}/replications/${route.childName}`,
            registry.resourceGroup,
          );
    }

    if (route.childName === undefined) {
      const filter = request.query.get('$filter');
      const matches = filter ? compileFilter(filter, registry) : () => true;
      if (!matches) return armErrors.invalidFilter(filter ?? '');
      const items = options.connectedRegistries.list(registry.name).filter(matches);
      return page(
        request,
        items.map((cr) => connectedRegistryResource(registry, cr)),
      );
    }
    const cr = options.connectedRegistries.get(registry.name, route.childName);
    if (!cr) {
      return armErrors.resourceNotFound(
        `Microsoft.ContainerRegistry/registries/${registry.name}/connectedRegistries/${route.childName}`,
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
