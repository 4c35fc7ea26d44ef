/**
 * The sandbox's AKS consumers (issue #20): three clusters in the sandbox registry's subscription, resource group
 * `aks-rg`, each staging one answer of the consumer audit.
 *
 * - `aks-streaming`: same region as the registry, kubelet AcrPull on the registry, Kubernetes 1.30, an Ubuntu and an
 *   Azure Linux pool on Standard_D4s_v5 (Gen2 image) with artifact streaming on: every pool can stream.
 * - `aks-mixed`: kubelet AcrPull inherited from the registry's resource group; four pools, each with exactly one
 *   reason it cannot stream: streaming off (the system pool), ARM64 (Standard_D4ps_v5), OS Guard
 *   (`AzureLinuxOSGuard`), Kubernetes 1.25. Its control plane runs 1.28 so the 1.25 pool stays within the version
 *   skew Kubernetes allows (nodes up to three minors behind the API server).
 * - `aks-nopull`: capable, but its kubelet identity holds no role on the registry.
 *
 * Data plane and ARM agree (the friendly-by-default rule of registry/permissions.ts must not make a kubelet identity
 * a puller ARM does not list): the first two identities get their AcrPull through the stores ARM reads, and
 * `aks-nopull`'s identity is registered on the registry with no roles, so the data plane refuses it as ARM implies.
 */
import { registryResourceId, type RegistryDefinition } from '../contract.js';
import type { RegistryPermissions } from '../registry/permissions.js';
import { clusterResourceId, type ArmCloud, type StoredAgentPool, type StoredCluster } from './cloud.js';
import { nodeResourceGroup } from './cloud-routes.js';

export const SANDBOX_AKS_RESOURCE_GROUP = 'aks-rg';
/** The subscription the emulator puts registries in when none is named (server.ts), hence the sandbox's. */
export const SANDBOX_SUBSCRIPTION = '00000000-0000-0000-0000-000000000001';

const kubelet = (name: string, n: number): StoredCluster['kubeletIdentity'] => ({
  clientId: `0000000${n}-aaaa-4000-8000-00000000c11e`,
  objectId: `0000000${n}-bbbb-4000-8000-0000000000b1`,
  resourceId: `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourcegroups/${nodeResourceGroup({ resourceGroup: SANDBOX_AKS_RESOURCE_GROUP, name, location: 'westeurope' })}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}-agentpool`,
});

const cluster = (name: string) => ({
  name,
  id: clusterResourceId({ subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_AKS_RESOURCE_GROUP, name }),
});

/** Names, IDs and identities of the seeded clusters, for tests and e2e scenarios. */
export const SANDBOX_CLUSTERS = {
  streaming: { ...cluster('aks-streaming'), kubelet: kubelet('aks-streaming', 1), pools: ['nodepool1', 'azlinux'] },
  mixed: {
    ...cluster('aks-mixed'),
    kubelet: kubelet('aks-mixed', 2),
    /** Pool name → the one reason it cannot stream. */
    pools: { system: 'streaming-disabled', arm64: 'arm64', osguard: 'os-guard', k8s125: 'kubernetes-version' },
  },
  noPull: { ...cluster('aks-nopull'), kubelet: kubelet('aks-nopull', 3), pools: ['nodepool1'] },
} as const;

/** The ARM scope that covers all three (CONSUMER_SCOPES in the sandbox's app settings). */
export const SANDBOX_CONSUMER_SCOPE = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${SANDBOX_AKS_RESOURCE_GROUP}`;

const IMAGE = {
  ubuntu: 'AKSUbuntu-2204gen2containerd-202511.07.0',
  ubuntuArm64: 'AKSUbuntu-2204gen2arm64containerd-202511.07.0',
  azureLinux: 'AKSAzureLinux-V3gen2-202511.07.0',
  osGuard: 'AKSAzureLinuxOSGuard-V3gen2fipsTL-202511.07.0',
};

/** A capable pool: Ubuntu on a Gen2 x64 size, Running, streaming on; callers override the one thing that differs. */
function pool(name: string, version: string, overrides: Partial<StoredAgentPool> = {}): StoredAgentPool {
  return {
    name,
    mode: 'User',
    count: 2,
    vmSize: 'Standard_D4s_v5',
    osType: 'Linux',
    osSKU: 'Ubuntu',
    orchestratorVersion: version,
    currentOrchestratorVersion: version,
    workloadRuntime: 'OCIContainer',
    nodeImageVersion: IMAGE.ubuntu,
    powerState: 'Running',
    artifactStreamingEnabled: true,
    ...overrides,
  };
}

export function seedSandboxClusters(
  cloud: ArmCloud,
  registry: RegistryDefinition,
  permissions: RegistryPermissions,
): readonly StoredCluster[] {
  const outbound = (name: string, ip: string): string[] => {
    const id = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/${nodeResourceGroup({ resourceGroup: SANDBOX_AKS_RESOURCE_GROUP, name, location: registry.location })}/providers/Microsoft.Network/publicIPAddresses/${name}-outbound`;
    cloud.putPublicIp(id, ip, registry.location);
    return [id];
  };
  const common = {
    subscriptionId: SANDBOX_SUBSCRIPTION,
    resourceGroup: SANDBOX_AKS_RESOURCE_GROUP,
    location: registry.location,
    outboundType: 'loadBalancer' as const,
    privateCluster: false,
  };
  const clusters = [
    cloud.putCluster({
      ...common,
      name: SANDBOX_CLUSTERS.streaming.name,
      kubernetesVersion: '1.30',
      currentKubernetesVersion: '1.30.7',
      kubeletIdentity: { ...SANDBOX_CLUSTERS.streaming.kubelet },
      outboundIpIds: outbound(SANDBOX_CLUSTERS.streaming.name, '20.50.10.1'),
      pools: [
        pool('nodepool1', '1.30.7', { mode: 'System', count: 3 }),
        pool('azlinux', '1.30.7', { osSKU: 'AzureLinux', nodeImageVersion: IMAGE.azureLinux }),
      ],
    }),
    cloud.putCluster({
      ...common,
      name: SANDBOX_CLUSTERS.mixed.name,
      kubernetesVersion: '1.28',
      currentKubernetesVersion: '1.28.15',
      kubeletIdentity: { ...SANDBOX_CLUSTERS.mixed.kubelet },
      outboundIpIds: outbound(SANDBOX_CLUSTERS.mixed.name, '20.50.10.2'),
      pools: [
        pool('system', '1.28.15', { mode: 'System', artifactStreamingEnabled: false }),
        pool('arm64', '1.28.15', { vmSize: 'Standard_D4ps_v5', nodeImageVersion: IMAGE.ubuntuArm64 }),
        pool('osguard', '1.28.15', { osSKU: 'AzureLinuxOSGuard', nodeImageVersion: IMAGE.osGuard }),
        pool('k8s125', '1.25.16', { nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202402.26.0' }),
      ],
    }),
    cloud.putCluster({
      ...common,
      name: SANDBOX_CLUSTERS.noPull.name,
      kubernetesVersion: '1.30',
      currentKubernetesVersion: '1.30.7',
      kubeletIdentity: { ...SANDBOX_CLUSTERS.noPull.kubelet },
      outboundIpIds: outbound(SANDBOX_CLUSTERS.noPull.name, '20.50.10.3'),
      pools: [pool('nodepool1', '1.30.7', { mode: 'System' })],
    }),
  ];
  // AcrPull on the registry itself: the data plane's own store (what ARM lists at the registry scope).
  const streamingKubelet = SANDBOX_CLUSTERS.streaming.kubelet.objectId;
  const current = permissions.assignments(streamingKubelet) ?? [];
  if (!current.some((a) => a.role === 'AcrPull'))
    permissions.assign(streamingKubelet, [...current, { role: 'AcrPull' }]);
  // AcrPull on the registry's resource group: ARM's store, inherited by the registry's data plane.
  cloud.addAssignment({
    scope: registryResourceId(registry).split('/providers/')[0] ?? '',
    principalId: SANDBOX_CLUSTERS.mixed.kubelet.objectId,
    principalType: 'ServicePrincipal',
    role: 'AcrPull',
  });
  // Known to the registry, with no role: refused on the data plane, listed by nobody.
  if (!permissions.restricts(SANDBOX_CLUSTERS.noPull.kubelet.objectId))
    permissions.assign(SANDBOX_CLUSTERS.noPull.kubelet.objectId, []);
  return clusters;
}
