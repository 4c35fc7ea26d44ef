import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  isRestError,
  RestError,
  type HttpClient,
  type Pipeline,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import type { RegistrySettings } from '../core/registries.js';
import type { Logger } from '../core/logging.js';
import type { RegistryReadiness } from '../policy/eligibility.js';

/** Parsed from `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerRegistry/registries/{n}`. */
export function parseRegistryResourceId(resourceId: string): {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
} {
  const parts = resourceId.split('/');
  return { subscriptionId: parts[2] ?? '', resourceGroup: parts[4] ?? '', name: parts[8] ?? '' };
}

/** How the app reaches Resource Manager: its identity, the cloud's endpoint, and optionally the transport. */
export interface ArmOptions {
  readonly credential: TokenCredential;
  readonly armEndpoint: string;
  /** The SDK's own Node client when absent; tests may hand in another. */
  readonly httpClient?: HttpClient;
}

export interface ReadinessOptions extends ArmOptions {
  readonly cacheMs?: number;
  readonly now?: () => number;
  /** How long a failure to read ARM is kept before asking again (default 60 s): not once per event. */
  readonly failureCacheMs?: number;
}

/**
 * Whether a registry can convert at all: Premium SKU and no customer-managed-key encryption (both preview limitations:
 * docs/sources.md § Artifact streaming limitations and troubleshooting). Read from ARM and cached. When ARM cannot be
 * read (no Reader role, outage) the registry is assumed ready — ACR then refuses the conversion itself (with an answer
 * nobody has recorded) — and a warning says what to grant; that answer is kept for a minute, so a burst of pushes
 * does not ask ARM once per event, and `unknown` says why for health and the report.
 */
export function armReadiness(
  options: ReadinessOptions,
): (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness> {
  const cache = new Map<string, { at: number; readiness: RegistryReadiness }>();
  const arm = armGet(options);
  const now = options.now ?? Date.now;
  const ttl = options.cacheMs ?? 10 * 60_000;
  const failureTtl = options.failureCacheMs ?? 60_000;
  return async (registry, log) => {
    const cached = cache.get(registry.name);
    if (cached && now() - cached.at < (cached.readiness.unknown === undefined ? ttl : failureTtl))
      return cached.readiness;
    let readiness: RegistryReadiness;
    try {
      const resource = await arm<ArmRegistry>(registryPath(registry.resourceId));
      readiness = {
        ...readinessOf(resource.sku?.name, resource.properties?.encryption?.status),
        ...(resource.properties?.roleAssignmentMode ? { permissionsMode: resource.properties.roleAssignmentMode } : {}),
      };
    } catch (error) {
      const why = `ARM answered ${isRestError(error) ? (error.statusCode ?? 'nothing') : 'with an error'}: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`;
      log.warn(
        `registry ${registry.name}: could not read it from ARM (${why}); assuming it is ready. Grant the app's identity Reader on the registry to check SKU and encryption.`,
      );
      readiness = { ready: true, unknown: why };
    }
    cache.set(registry.name, { at: now(), readiness });
    return readiness;
  };
}

export function readinessOf(sku: string | undefined, encryption: string | undefined): RegistryReadiness {
  const facts = { ...(sku ? { sku } : {}), customerManagedKey: encryption === 'enabled' };
  if (sku !== 'Premium')
    return {
      ready: false,
      reason: `the registry is ${sku ?? 'of unknown SKU'}; artifact streaming needs the Premium SKU`,
      ...facts,
    };
  if (encryption === 'enabled')
    return {
      ready: false,
      reason: 'the registry is encrypted with a customer-managed key, which artifact streaming does not support',
      ...facts,
    };
  return { ready: true, ...facts };
}

/** What readiness reads of ARM's registry resource (`Registries - Get`; the rest is ignored). */
interface ArmRegistry {
  readonly sku?: { readonly name?: string };
  readonly properties?: {
    readonly encryption?: { readonly status?: string };
    readonly roleAssignmentMode?: string;
  };
}

/** The API version @azure/arm-containerregistry 12 sends (its `registries.get`), whose fields the emulator serves. */
const registryApiVersion = '2025-11-01';

/** `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.ContainerRegistry/registries/{n}`, from its parts. */
function registryPath(resourceId: string): string {
  const { subscriptionId, resourceGroup, name } = parseRegistryResourceId(resourceId);
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`;
}

/**
 * One ARM GET, as the ARM SDK sends it: core-rest-pipeline's default policies (retries with backoff, 429
 * `Retry-After`, redirects) and a bearer token for `{armEndpoint}/.default`, the scope the SDK asks for. Not the SDK
 * itself, so the push path, which reads readiness, never loads it (issue #19 §1). A status other than 200 throws a
 * RestError with ARM's error message, as the SDK's does.
 */
function armGet(options: ArmOptions): <T>(path: string) => Promise<T> {
  const httpClient = options.httpClient ?? createDefaultHttpClient();
  let pipeline: Pipeline | undefined;
  return async <T>(path: string): Promise<T> => {
    if (pipeline === undefined) {
      pipeline = createPipelineFromOptions({});
      pipeline.addPolicy(
        bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: `${options.armEndpoint}/.default` }),
      );
    }
    const request = createPipelineRequest({
      url: `${options.armEndpoint}${path}?api-version=${registryApiVersion}`,
      method: 'GET',
      headers: createHttpHeaders({ accept: 'application/json' }),
    });
    const response = await pipeline.sendRequest(httpClient, request);
    const body = response.bodyAsText ? (JSON.parse(response.bodyAsText) as unknown) : undefined;
    if (response.status !== 200) {
      const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new RestError(error?.message ?? `ARM answered ${response.status}`, {
        statusCode: response.status,
        ...(error?.code ? { code: error.code } : {}),
        request,
        response,
      });
    }
    return body as T;
  };
}
