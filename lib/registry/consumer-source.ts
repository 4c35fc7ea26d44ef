import type { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import type { AuthorizationManagementClient, RoleDefinition } from '@azure/arm-authorization';
import type { AgentPool, ContainerServiceClient, ManagedCluster } from '@azure/arm-containerservice';
import type { NetworkManagementClient } from '@azure/arm-network';
import { isRestError } from '@azure/core-rest-pipeline';
import { parseRegistryResourceId, type ArmOptions } from './readiness.js';
import type {
  AgentPoolView,
  ClusterView,
  ConsumerSource,
  RegistryNetworkView,
  RegistryPrivateEndpointView,
  RoleGrantView,
} from '../consumers/model.js';
import { parseConsumerScope } from '../consumers/scope.js';

export { parseConsumerScope, type ConsumerScope } from '../consumers/scope.js';

/** `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}` → its parts (case as given). */
function resourceParts(id: string): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/[^/]+\/([^/]+)$/i.exec(id);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : undefined;
}

/** 403 (no Reader on it) and 404 (gone) leave a best-effort field undefined; anything else is a real failure. */
const tolerable = (error: unknown): boolean =>
  isRestError(error) && (error.statusCode === 403 || error.statusCode === 404);

interface Clients {
  readonly containerService: ContainerServiceClient;
  readonly authorization: AuthorizationManagementClient;
  readonly registry: ContainerRegistryManagementClient;
  readonly network: NetworkManagementClient;
}

/**
 * The consumer port over Resource Manager with the Azure SDKs (@azure/arm-containerservice 25.3 at api-version
 * 2026-04-01, @azure/arm-authorization 9 at 2022-04-01, @azure/arm-containerregistry 12 at 2025-11-01 and
 * @azure/arm-network 39 at 2026-01-01), one set of clients per subscription, each SDK imported when first needed
 * (issue #19 §1). Role definitions are read once per adapter: built-in ones never change and custom ones rarely.
 */
export function armConsumerSource(options: ArmOptions): ConsumerSource {
  const endpoint = options.armEndpoint.replace(/\/+$/, '');
  const common = {
    endpoint,
    // The modular SDKs ask for management.azure.com by default whatever the endpoint; a sovereign cloud's ARM wants
    // its own audience, as the older clients derive it (`${endpoint}/.default`).
    credentials: { scopes: [`${endpoint}/.default`] },
    ...(options.httpClient ? { httpClient: options.httpClient } : {}),
  };
  const clients = new Map<string, Promise<Clients>>();
  const definitions = new Map<string, Promise<RoleDefinition>>();

  const clientsFor = (subscriptionId: string): Promise<Clients> => {
    const key = subscriptionId.toLowerCase();
    let entry = clients.get(key);
    if (entry === undefined) {
      entry = (async () => {
        const [{ ContainerServiceClient }, { AuthorizationManagementClient }, registry, network] = await Promise.all([
          import('@azure/arm-containerservice'),
          import('@azure/arm-authorization'),
          import('@azure/arm-containerregistry'),
          import('@azure/arm-network'),
        ]);
        return {
          containerService: new ContainerServiceClient(options.credential, subscriptionId, common),
          authorization: new AuthorizationManagementClient(options.credential, subscriptionId, {
            endpoint,
            credentialScopes: [`${endpoint}/.default`],
            ...(options.httpClient ? { httpClient: options.httpClient } : {}),
          }),
          registry: new registry.ContainerRegistryManagementClient(options.credential, subscriptionId, {
            endpoint,
            ...(options.httpClient ? { httpClient: options.httpClient } : {}),
          }),
          network: new network.NetworkManagementClient(options.credential, subscriptionId, common),
        };
      })();
      clients.set(key, entry);
    }
    return entry;
  };

  const outboundAddresses = async (cluster: ManagedCluster): Promise<string[] | undefined> => {
    if (cluster.networkProfile?.outboundType !== 'loadBalancer') return undefined;
    const ips = cluster.networkProfile.loadBalancerProfile?.effectiveOutboundIPs ?? [];
    const addresses: string[] = [];
    for (const ip of ips) {
      const parts = ip.id ? resourceParts(ip.id) : undefined;
      if (!parts) return undefined;
      try {
        const { network } = await clientsFor(parts.subscriptionId);
        const address = (await network.publicIPAddresses.get(parts.resourceGroup, parts.name)).ipAddress;
        if (address === undefined) return undefined;
        addresses.push(address);
      } catch (error) {
        if (tolerable(error)) return undefined;
        throw error;
      }
    }
    return addresses;
  };

  const view = async (cluster: ManagedCluster): Promise<ClusterView> => {
    const id = cluster.id ?? '';
    const parts = resourceParts(id);
    if (!parts) throw new Error(`ARM returned a managed cluster without a resource ID (${cluster.name ?? '?'})`);
    const { containerService } = await clientsFor(parts.subscriptionId);
    const pools: AgentPoolView[] = [];
    for await (const pool of containerService.agentPools.list(parts.resourceGroup, parts.name))
      pools.push(poolView(pool));
    const kubelet = cluster.identityProfile?.['kubeletidentity'];
    const outboundIpAddresses = await outboundAddresses(cluster);
    return {
      id,
      name: cluster.name ?? parts.name,
      subscriptionId: parts.subscriptionId,
      resourceGroup: parts.resourceGroup,
      location: cluster.location,
      ...optional('kubernetesVersion', cluster.currentKubernetesVersion ?? cluster.kubernetesVersion),
      ...(kubelet
        ? {
            kubeletIdentity: {
              ...optional('objectId', kubelet.objectId),
              ...optional('clientId', kubelet.clientId),
              ...optional('resourceId', kubelet.resourceId),
            },
          }
        : {}),
      ...optional('privateCluster', cluster.apiServerAccessProfile?.enablePrivateCluster),
      ...optional('outboundIpAddresses', outboundIpAddresses),
      ...optional('outboundType', cluster.networkProfile?.outboundType),
      pools,
    };
  };

  const definition = (id: string, authorization: AuthorizationManagementClient): Promise<RoleDefinition> => {
    // Built-in roles answer under any subscription with the same GUID: cache by the GUID so each is read once.
    const key = (id.split('/').pop() ?? id).toLowerCase();
    let entry = definitions.get(key);
    if (entry === undefined) {
      entry = authorization.roleDefinitions.getById(id);
      // A failed read is not kept: the next audit asks again.
      entry.catch(() => definitions.delete(key));
      definitions.set(key, entry);
    }
    return entry;
  };

  return {
    async *clusters(scopes) {
      const parsed = scopes.map(parseConsumerScope);
      const seen = new Set<string>();
      for (const scope of parsed) {
        const { containerService } = await clientsFor(scope.subscriptionId);
        let found: AsyncIterable<ManagedCluster>;
        if (scope.kind === 'subscription') found = containerService.managedClusters.list();
        else if (scope.kind === 'resourceGroup')
          found = containerService.managedClusters.listByResourceGroup(scope.resourceGroup);
        else found = single(() => containerService.managedClusters.get(scope.resourceGroup, scope.name));
        for await (const cluster of found) {
          const key = (cluster.id ?? '').toLowerCase();
          // Overlapping scopes (a subscription and one of its groups) name the same cluster once.
          if (seen.has(key)) continue;
          seen.add(key);
          yield await view(cluster);
        }
      }
    },

    async cluster(id) {
      const scope = parseConsumerScope(id);
      if (scope.kind !== 'cluster') throw new Error(`'${id}' is not an AKS cluster ID`);
      const { containerService } = await clientsFor(scope.subscriptionId);
      try {
        return await view(await containerService.managedClusters.get(scope.resourceGroup, scope.name));
      } catch (error) {
        if (isRestError(error) && error.statusCode === 404) return undefined;
        throw error;
      }
    },

    async registry(registryResourceId) {
      const { subscriptionId, resourceGroup, name } = parseRegistryResourceId(registryResourceId);
      const { registry: client } = await clientsFor(subscriptionId);
      const resource = await client.registries.get(resourceGroup, name);
      const replicaLocations: string[] = [];
      for await (const replication of client.replications.list(resourceGroup, name))
        if (replication.location) replicaLocations.push(replication.location);
      const privateEndpoints: RegistryPrivateEndpointView[] = [];
      for (const connection of resource.privateEndpointConnections ?? []) {
        const endpointId = connection.privateEndpoint?.id;
        if (!endpointId) continue;
        privateEndpoints.push({
          id: endpointId,
          ...optional('status', connection.privateLinkServiceConnectionState?.status),
          ...optional('subnetId', await endpointSubnet(endpointId)),
        });
      }
      const rules = resource.networkRuleSet;
      const view: RegistryNetworkView = {
        id: resource.id ?? registryResourceId,
        name: resource.name ?? name,
        location: resource.location,
        ...optional('sku', resource.sku.name),
        customerManagedKey: resource.encryption?.status === 'enabled',
        ...optional('publicNetworkAccess', resource.publicNetworkAccess),
        ...(rules
          ? {
              networkRuleSet: {
                ...optional('defaultAction', rules.defaultAction),
                ipRules: (rules.ipRules ?? []).map((rule) => ({
                  value: rule.iPAddressOrRange,
                  ...optional('action', rule.action),
                })),
              },
            }
          : {}),
        privateEndpoints,
        replicaLocations,
        ...optional('roleAssignmentMode', resource.roleAssignmentMode),
      };
      return view;
    },

    async grants(registryResourceId, principalIds) {
      const { subscriptionId } = parseRegistryResourceId(registryResourceId);
      const { authorization } = await clientsFor(subscriptionId);
      const wanted = new Set(principalIds);
      const grants = new Map<string, RoleGrantView[]>();
      // `atScope()`: "all role assignments at or above the scope" (RoleAssignmentsListForScopeOptionalParams.filter
      // in @azure/arm-authorization 9), i.e. made on the registry or inherited from its group and subscription.
      for await (const assignment of authorization.roleAssignments.listForScope(registryResourceId, {
        filter: 'atScope()',
      })) {
        const principalId = assignment.principalId;
        if (!principalId || !wanted.has(principalId) || !assignment.roleDefinitionId) continue;
        const role = await definition(assignment.roleDefinitionId, authorization);
        const permissions = role.permissions ?? [];
        const grant: RoleGrantView = {
          principalId,
          roleDefinitionId: assignment.roleDefinitionId,
          roleName: role.roleName ?? assignment.roleDefinitionId,
          scope: assignment.scope ?? '',
          actions: permissions.flatMap((p) => p.actions ?? []),
          notActions: permissions.flatMap((p) => p.notActions ?? []),
          dataActions: permissions.flatMap((p) => p.dataActions ?? []),
          notDataActions: permissions.flatMap((p) => p.notDataActions ?? []),
          ...optional('condition', assignment.condition),
        };
        grants.set(principalId, [...(grants.get(principalId) ?? []), grant]);
      }
      return grants;
    },
  };

  async function endpointSubnet(endpointId: string): Promise<string | undefined> {
    const parts = resourceParts(endpointId);
    if (!parts) return undefined;
    try {
      const { network } = await clientsFor(parts.subscriptionId);
      return (await network.privateEndpoints.get(parts.resourceGroup, parts.name)).subnet?.id;
    } catch (error) {
      if (tolerable(error)) return undefined;
      throw error;
    }
  }
}

function poolView(pool: AgentPool): AgentPoolView {
  return {
    name: pool.name ?? '',
    ...optional('mode', pool.mode),
    ...optional('count', pool.count),
    ...optional('minCount', pool.minCount),
    ...optional('maxCount', pool.maxCount),
    ...optional('vmSize', pool.vmSize),
    ...optional('osType', pool.osType),
    ...optional('osSku', pool.osSKU),
    ...optional('kubernetesVersion', pool.currentOrchestratorVersion ?? pool.orchestratorVersion),
    ...optional('workloadRuntime', pool.workloadRuntime),
    ...optional('nodeImageVersion', pool.nodeImageVersion),
    ...optional('artifactStreamingEnabled', pool.artifactStreamingProfile?.enabled),
    ...optional('vnetSubnetId', pool.vnetSubnetID),
    ...optional('powerState', pool.powerState?.code),
  };
}

/** `{ [key]: value }` when the value is defined, else nothing (the views' optional fields stay absent). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function* single<T>(get: () => Promise<T>): AsyncIterable<T> {
  try {
    yield await get();
  } catch (error) {
    // A configured cluster that is gone is not an error of the whole audit.
    if (isRestError(error) && error.statusCode === 404) return;
    throw error;
  }
}
