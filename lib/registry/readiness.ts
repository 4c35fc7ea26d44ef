import type { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { isRestError, type HttpClient } from '@azure/core-rest-pipeline';
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
  const clients = new Map<string, ContainerRegistryManagementClient>();
  const now = options.now ?? Date.now;
  const ttl = options.cacheMs ?? 10 * 60_000;
  const failureTtl = options.failureCacheMs ?? 60_000;
  return async (registry, log) => {
    const cached = cache.get(registry.name);
    if (cached && now() - cached.at < (cached.readiness.unknown === undefined ? ttl : failureTtl))
      return cached.readiness;
    const { subscriptionId, resourceGroup, name } = parseRegistryResourceId(registry.resourceId);
    let client = clients.get(subscriptionId);
    if (client === undefined) {
      // The ARM SDK is imported when ARM is first asked (once per 10 minutes and registry, cached above), not when
      // the app loads (issue #19 §1).
      const { ContainerRegistryManagementClient } = await import('@azure/arm-containerregistry');
      client = new ContainerRegistryManagementClient(options.credential, subscriptionId, {
        endpoint: options.armEndpoint,
        ...(options.httpClient ? { httpClient: options.httpClient } : {}),
      });
      clients.set(subscriptionId, client);
    }
    let readiness: RegistryReadiness;
    try {
      const resource = await client.registries.get(resourceGroup, name);
      readiness = {
        ...readinessOf(resource.sku.name, resource.encryption?.status),
        ...(resource.roleAssignmentMode ? { permissionsMode: resource.roleAssignmentMode } : {}),
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
