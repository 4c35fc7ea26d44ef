import type {
  AgentPoolInput,
  AgentPoolPatch,
  ClusterInput,
  ClusterPatch,
  RegistryNetworkPatch,
  RoleAssignmentInput,
} from './arm/cloud-control.js';
import type { ForbiddableOperation, RegistryNetwork, StoredAgentPool, StoredCluster } from './arm/cloud.js';
import type { ListenerInfo, RegistryDefinition, RequestLogEntry } from './contract.js';
import type { SeedImageInput, SeededManifest } from './control.js';
import type { FaultRule, FaultRuleInput } from './faults.js';
import type { RateLimit } from './rate-limit.js';
import type { RegistryPermissions, RoleAssignment, RoleAssignmentMode } from './registry/permissions.js';
import type { ConversionBehaviour, OperationView } from './registry/streaming-service.js';
import type { RegistryOptions, StartedRegistry } from './server.js';

export type RegistryDescription = RegistryDefinition & StartedRegistry;

export class ControlApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`control API answered ${status}: ${detail}`);
  }
}

/** Typed client for the emulator's control API (plain HTTP on loopback), used by tests and seed scripts. */
export class EmulatorControlClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetchImpl(new URL(path, this.baseUrl), {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try {
        const parsed = (JSON.parse(text) as { detail?: unknown }).detail;
        if (typeof parsed === 'string') detail = parsed;
      } catch {
        // not JSON: keep the text
      }
      throw new ControlApiError(response.status, detail);
    }
    return (text.length === 0 ? undefined : JSON.parse(text)) as T;
  }

  listRegistries(): Promise<RegistryDescription[]> {
    return this.#call('GET', '/_emulator/registries');
  }

  async getRegistry(name: string): Promise<RegistryDescription | undefined> {
    try {
      return await this.#call<RegistryDescription>('GET', `/_emulator/registries/${name}`);
    } catch (error) {
      if (error instanceof ControlApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  createRegistry(options: Omit<RegistryOptions, 'adminUser' | 'httpsPort' | 'httpPort'>): Promise<StartedRegistry> {
    return this.#call('POST', '/_emulator/registries', options);
  }

  updateRegistry(
    name: string,
    patch: Partial<Pick<RegistryDefinition, 'sku' | 'customerManagedKey' | 'anonymousPullEnabled'>>,
  ): Promise<RegistryDescription> {
    return this.#call('PATCH', `/_emulator/registries/${name}`, patch);
  }

  setAnonymousPull(registry: string, enabled: boolean): Promise<RegistryDescription> {
    return this.#call('PUT', `/_emulator/registries/${registry}/anonymous-pull`, { enabled });
  }

  /** Pushes generated OCI content (blobs, children, manifest) as a client push would, events included. */
  seedImage(registry: string, input: SeedImageInput): Promise<SeededManifest> {
    return this.#call('POST', `/_emulator/registries/${registry}/images`, input);
  }

  /** Deletes a manifest by digest (e.g. a streaming referrer); raises ImageDeleted. */
  deleteManifest(registry: string, repository: string, digest: string): Promise<{ digest: string; mediaType: string }> {
    return this.#call('DELETE', `/_emulator/registries/${registry}/repositories/${repository}/manifests/${digest}`);
  }

  /**
   * Hostile mode: the registry answers `429` with `Retry-After` beyond this request rate (a token bucket over all its
   * requests, wall clock); `undefined` turns it off (the default).
   */
  setRateLimit(registry: string, limit: RateLimit | undefined): Promise<void> {
    return this.#call('PUT', `/_emulator/registries/${registry}/rate-limit`, { limit: limit ?? null });
  }

  /** Hostile mode: pushes stay invisible to manifest reads (GET) for this long; 0 turns it off. */
  setReadLag(registry: string, milliseconds: number): Promise<void> {
    return this.#call('PUT', `/_emulator/registries/${registry}/read-lag`, { milliseconds });
  }

  /**
   * Hostile mode: the registry's role-assignment mode (`LegacyRegistryPermissions` by default) and the actions the
   * streaming endpoints require (docs/assumptions.md A7); the role actions turning a repository's switch off needs
   * (`['delete']`: Repository Contributor only; A12).
   */
  setPermissions(
    registry: string,
    settings: {
      mode?: RoleAssignmentMode;
      streamingActions?: { read?: readonly string[]; write?: readonly string[] };
      switchOffActions?: readonly string[];
    },
  ): Promise<ReturnType<RegistryPermissions['describe']>> {
    return this.#call('PUT', `/_emulator/registries/${registry}/permissions`, settings);
  }

  /**
   * Hostile mode: an Entra identity (its object id, the `oid` of its tokens) gets these roles on the registry and no
   * others; `undefined` makes it unrestricted again (every identity is, until given roles here).
   */
  assignRoles(
    registry: string,
    principalId: string,
    assignments: readonly RoleAssignment[] | undefined,
  ): Promise<ReturnType<RegistryPermissions['describe']>> {
    return this.#call('PUT', `/_emulator/registries/${registry}/role-assignments`, {
      principalId,
      assignments: assignments ?? null,
    });
  }

  setStreamingBehaviour(
    registry: string,
    repository: string,
    behaviour: Partial<ConversionBehaviour> & { digest?: string },
  ): Promise<void> {
    return this.#call('PUT', `/_emulator/registries/${registry}/streaming/behaviour`, { repository, ...behaviour });
  }

  /** Sets `convertPushedImages` directly (no SKU check, no operation), for seeding. */
  setConvertPushedImages(registry: string, repository: string, convertPushedImages: boolean): Promise<void> {
    return this.#call('PUT', `/_emulator/registries/${registry}/streaming/settings`, {
      repository,
      convertPushedImages,
    });
  }

  listOperations(registry: string): Promise<OperationView[]> {
    return this.#call('GET', `/_emulator/registries/${registry}/operations`);
  }

  getOperation(registry: string, id: string): Promise<OperationView> {
    return this.#call('GET', `/_emulator/registries/${registry}/operations/${id}`);
  }

  /** Long-polls until the operation is terminal (useful in real-time mode; otherwise advance the clock). */
  waitForOperation(registry: string, id: string, timeoutMs = 30_000): Promise<OperationView> {
    return this.#call('GET', `/_emulator/registries/${registry}/operations/${id}?wait=true&timeoutMs=${timeoutMs}`);
  }

  addFault(rule: FaultRuleInput): Promise<FaultRule> {
    return this.#call('POST', '/_emulator/faults', rule);
  }

  listFaults(): Promise<FaultRule[]> {
    return this.#call('GET', '/_emulator/faults');
  }

  removeFault(id: string): Promise<void> {
    return this.#call('DELETE', `/_emulator/faults/${id}`);
  }

  clearFaults(): Promise<void> {
    return this.#call('DELETE', '/_emulator/faults');
  }

  requests(
    filter: { method?: string; path?: string; listener?: ListenerInfo['kind']; since?: number } = {},
  ): Promise<RequestLogEntry[]> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) params.set(key, String(value));
    return this.#call('GET', `/_emulator/requests?${params.toString()}`);
  }

  clearRequests(): Promise<void> {
    return this.#call('DELETE', '/_emulator/requests');
  }

  clock(): Promise<{ now: string; realTime: boolean }> {
    return this.#call('GET', '/_emulator/clock');
  }

  advanceClock(milliseconds: number): Promise<{ now: string; realTime: boolean }> {
    return this.#call('POST', '/_emulator/clock/advance', { milliseconds });
  }

  setRealTime(enabled: boolean): Promise<{ now: string; realTime: boolean }> {
    return this.#call('PUT', '/_emulator/clock/real-time', { enabled });
  }

  // ---- ARM beyond registries (arm/cloud-control.ts; README § ARM: clusters, roles, network) ----

  /** Creates or replaces an AKS cluster with its pools. */
  putCluster(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
    cluster: ClusterInput,
  ): Promise<StoredCluster> {
    return this.#call('PUT', `/_emulator/arm/clusters/${subscriptionId}/${resourceGroup}/${name}`, cluster);
  }

  patchCluster(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
    patch: ClusterPatch,
  ): Promise<StoredCluster> {
    return this.#call('PATCH', `/_emulator/arm/clusters/${subscriptionId}/${resourceGroup}/${name}`, patch);
  }

  deleteCluster(subscriptionId: string, resourceGroup: string, name: string): Promise<void> {
    return this.#call('DELETE', `/_emulator/arm/clusters/${subscriptionId}/${resourceGroup}/${name}`);
  }

  putAgentPool(
    clusterId: { subscriptionId: string; resourceGroup: string; name: string },
    pool: string,
    input: AgentPoolInput,
  ): Promise<StoredAgentPool> {
    const { subscriptionId, resourceGroup, name } = clusterId;
    return this.#call(
      'PUT',
      `/_emulator/arm/clusters/${subscriptionId}/${resourceGroup}/${name}/agentPools/${pool}`,
      input,
    );
  }

  /** Changes any pool field, e.g. `{ artifactStreamingEnabled: false }` or `{ vmSize: 'Standard_D4ps_v5' }`. */
  patchAgentPool(
    clusterId: { subscriptionId: string; resourceGroup: string; name: string },
    pool: string,
    patch: AgentPoolPatch,
  ): Promise<StoredAgentPool> {
    const { subscriptionId, resourceGroup, name } = clusterId;
    return this.#call(
      'PATCH',
      `/_emulator/arm/clusters/${subscriptionId}/${resourceGroup}/${name}/agentPools/${pool}`,
      patch,
    );
  }

  /**
   * Assigns a role at any scope. On a registry it lands in the registry's data-plane store (what `assignRoles` sets),
   * elsewhere in ARM's own; the data plane honours assignments above a registry as inherited.
   */
  addRoleAssignment(input: RoleAssignmentInput): Promise<{ value: Record<string, unknown>[] }> {
    return this.#call('PUT', '/_emulator/arm/role-assignments', input);
  }

  /** Removes a principal's assignments at exactly this scope (one role, or all of them). */
  removeRoleAssignment(input: { scope: string; principalId: string; role?: RoleAssignmentInput['role'] }): Promise<{
    removed: number;
  }> {
    return this.#call('DELETE', '/_emulator/arm/role-assignments', input);
  }

  /** Public network access, firewall rules, private endpoints and replica locations of a registry. */
  setRegistryNetwork(registry: string, patch: RegistryNetworkPatch): Promise<RegistryNetwork> {
    return this.#call('PATCH', `/_emulator/arm/registries/${registry}/network`, patch);
  }

  putPublicIp(id: string, ipAddress: string, location?: string): Promise<void> {
    return this.#call('PUT', '/_emulator/arm/public-ips', { id, ipAddress, ...(location ? { location } : {}) });
  }

  putPrivateEndpoint(id: string, subnetId: string, location?: string): Promise<void> {
    return this.#call('PUT', '/_emulator/arm/private-endpoints', { id, subnetId, ...(location ? { location } : {}) });
  }

  /** Hostile mode: these ARM reads answer 403 AuthorizationFailed (`[]` restores the friendly default). */
  forbidArm(operations: readonly ForbiddableOperation[]): Promise<{ operations: ForbiddableOperation[] }> {
    return this.#call('PUT', '/_emulator/arm/forbidden', { operations });
  }
}
