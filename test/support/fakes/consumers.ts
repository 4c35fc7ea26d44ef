import type { Versioned } from '../../../lib/core/image.js';
import type {
  AgentPoolView,
  ClusterView,
  ConsumerSource,
  RegistryNetworkView,
  RoleGrantView,
} from '../../../lib/consumers/model.js';
import { consumerKey, type ConsumerState, type ConsumerStore } from '../../../lib/consumers/ports.js';
import type { RegistrySettings } from '../../../lib/core/registries.js';

/**
 * A test double of the ConsumerSource port (lib/consumers/model.ts): ARM's answers held in memory, changed by the
 * test between runs. The ARM adapter (lib/registry/consumer-source.ts) and the emulator's clusters are tested end to
 * end.
 */
export class InMemoryConsumerSource implements ConsumerSource {
  /** Clusters by the scope they are listed under (a subscription, a resource group or a cluster ID). */
  readonly scopes = new Map<string, ClusterView[]>();
  /** Role assignments at the registry, by principal. */
  readonly grantsByPrincipal = new Map<string, RoleGrantView[]>();
  /** Errors to throw instead of answering: a scope's listing, the grants call, the registry read. */
  readonly failures: { scopes: Map<string, Error>; grants?: Error; registry?: Error } = { scopes: new Map() };
  readonly calls = { grants: 0, registry: 0 };

  constructor(public registryView: RegistryNetworkView) {}

  async *clusters(scope: readonly string[]): AsyncIterable<ClusterView> {
    for (const entry of scope) {
      const failure = this.failures.scopes.get(entry);
      if (failure) throw failure;
      for (const cluster of this.scopes.get(entry) ?? []) yield await Promise.resolve(structuredClone(cluster));
    }
  }

  cluster(id: string): Promise<ClusterView | undefined> {
    const all = [...this.scopes.values()].flat();
    return Promise.resolve(all.find((cluster) => cluster.id.toLowerCase() === id.toLowerCase()));
  }

  registry(_registryResourceId: string): Promise<RegistryNetworkView> {
    this.calls.registry++;
    return this.failures.registry ? Promise.reject(this.failures.registry) : Promise.resolve(this.registryView);
  }

  grants(_registryResourceId: string, principalIds: readonly string[]): Promise<Map<string, RoleGrantView[]>> {
    this.calls.grants++;
    if (this.failures.grants) return Promise.reject(this.failures.grants);
    const answer = new Map<string, RoleGrantView[]>();
    for (const id of principalIds) {
      const grants = this.grantsByPrincipal.get(id);
      if (grants?.length) answer.set(id, grants);
    }
    return Promise.resolve(answer);
  }

  /** Replaces one pool of a listed cluster (the test's "someone changed the pool in ARM"). */
  updatePool(clusterName: string, poolName: string, change: Partial<AgentPoolView>): void {
    for (const [scope, clusters] of this.scopes)
      this.scopes.set(
        scope,
        clusters.map((cluster) =>
          cluster.name !== clusterName
            ? cluster
            : {
                ...cluster,
                pools: cluster.pools.map((pool) => (pool.name === poolName ? { ...pool, ...change } : pool)),
              },
        ),
      );
  }
}

/** An ARM error as the SDK throws it: a RestError carries the status as `statusCode`. */
export function armError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode });
}

/** The ConsumerStore port in memory, with ETags like the Table adapter's (create-if-absent, replace-if-match). */
export class InMemoryConsumerStore implements ConsumerStore {
  private readonly rows = new Map<string, Versioned<ConsumerState>>();
  private version = 0;
  /** Called before a save is decided: a test makes another instance write first here. */
  beforeSave?: (state: ConsumerState) => void;

  private key(registry: string, clusterId: string): string {
    return `${registry}|${consumerKey(clusterId)}`;
  }

  states(registry: string): Promise<Map<string, Versioned<ConsumerState>>> {
    const states = new Map<string, Versioned<ConsumerState>>();
    for (const [key, row] of this.rows)
      if (key.startsWith(`${registry}|`)) states.set(key.slice(registry.length + 1), structuredClone(row));
    return Promise.resolve(states);
  }

  state(registry: string, clusterId: string): Promise<Versioned<ConsumerState> | undefined> {
    const row = this.rows.get(this.key(registry, clusterId));
    return Promise.resolve(row && structuredClone(row));
  }

  save(state: ConsumerState, etag: string | undefined): Promise<boolean> {
    const hook = this.beforeSave;
    this.beforeSave = undefined;
    hook?.(state);
    return Promise.resolve(this.write(state, etag));
  }

  /** A write from "another instance", bypassing the hook. */
  write(state: ConsumerState, etag: string | undefined): boolean {
    const key = this.key(state.registry, state.clusterId);
    const current = this.rows.get(key);
    if (etag === undefined ? current !== undefined : current?.etag !== etag) return false;
    this.rows.set(key, { value: structuredClone(state), etag: `W/"${++this.version}"` });
    return true;
  }

  remove(registry: string, clusterId: string, etag: string): Promise<boolean> {
    const key = this.key(registry, clusterId);
    if (this.rows.get(key)?.etag !== etag) return Promise.resolve(false);
    this.rows.delete(key);
    return Promise.resolve(true);
  }

  /** The current ETag of a state, as another instance would have read it. */
  etagOf(registry: string, clusterId: string): string | undefined {
    return this.rows.get(this.key(registry, clusterId))?.etag;
  }

  get size(): number {
    return this.rows.size;
  }
}

// Fixtures: a registry, pools and clusters as ARM shows them; grants as Microsoft Learn's built-in roles define them.

export const registryId =
  '/subscriptions/s1/resourceGroups/acr-rg/providers/Microsoft.ContainerRegistry/registries/contoso';

export const registrySettings: RegistrySettings = {
  name: 'contoso',
  loginServer: 'contoso.azurecr.io',
  resourceId: registryId,
  auth: { type: 'identity' },
};

export const registryView: RegistryNetworkView = {
  id: registryId,
  name: 'contoso',
  location: 'eastus',
  sku: 'Premium',
  privateEndpoints: [],
  replicaLocations: ['eastus'],
};

export const capablePool: AgentPoolView = {
  name: 'nodes',
  mode: 'User',
  count: 3,
  vmSize: 'Standard_D4s_v5',
  osType: 'Linux',
  osSku: 'Ubuntu',
  kubernetesVersion: '1.30.4',
  nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202511.07.0',
  artifactStreamingEnabled: true,
};

export function clusterView(name: string, pools: AgentPoolView[], overrides: Partial<ClusterView> = {}): ClusterView {
  return {
    id: `/subscriptions/s1/resourceGroups/aks-rg/providers/Microsoft.ContainerService/managedClusters/${name}`,
    name,
    subscriptionId: 's1',
    resourceGroup: 'aks-rg',
    location: 'eastus',
    kubernetesVersion: '1.30.4',
    kubeletIdentity: { objectId: `${name}-kubelet` },
    pools,
    ...overrides,
  };
}

export function acrPull(principalId: string): RoleGrantView {
  return {
    principalId,
    roleDefinitionId: '/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d',
    roleName: 'AcrPull',
    scope: registryId,
    actions: ['Microsoft.ContainerRegistry/registries/pull/read'],
    notActions: [],
    dataActions: [],
    notDataActions: [],
  };
}
