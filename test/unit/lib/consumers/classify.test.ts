import { describe, expect, it } from 'vitest';
import {
  amd64Equivalent,
  classifyCluster,
  grantIncludesPull,
  isArm64VmSize,
  isConfidentialVmSize,
  isGen1NodeImage,
  streamingCapacity,
} from '../../../../lib/consumers/classify.js';
import type {
  AgentPoolView,
  ClusterView,
  RegistryNetworkView,
  RoleGrantView,
} from '../../../../lib/consumers/model.js';

const registryId = '/subscriptions/s1/resourceGroups/acr-rg/providers/Microsoft.ContainerRegistry/registries/contoso';
const registry: RegistryNetworkView = {
  id: registryId,
  name: 'contoso',
  location: 'eastus',
  sku: 'Premium',
  privateEndpoints: [],
  replicaLocations: ['eastus', 'westeurope'],
};

const capablePool: AgentPoolView = {
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

function cluster(pools: AgentPoolView[], overrides: Partial<ClusterView> = {}): ClusterView {
  return {
    id: '/subscriptions/s1/resourceGroups/aks-rg/providers/Microsoft.ContainerService/managedClusters/aks1',
    name: 'aks1',
    subscriptionId: 's1',
    resourceGroup: 'aks-rg',
    location: 'eastus',
    kubernetesVersion: '1.30.4',
    kubeletIdentity: { objectId: 'kubelet-oid' },
    pools,
    ...overrides,
  };
}

// Role definitions as Microsoft Learn's "Azure built-in roles" lists them (permissions abridged to what matters).
const role = (roleName: string, actions: string[], extra: Partial<RoleGrantView> = {}): RoleGrantView => ({
  principalId: 'kubelet-oid',
  roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${roleName}`,
  roleName,
  scope: registryId,
  actions,
  notActions: [],
  dataActions: [],
  notDataActions: [],
  ...extra,
});
const acrPull = role('AcrPull', ['Microsoft.ContainerRegistry/registries/pull/read']);
const reader = role('Reader', ['*/read']);
const owner = role('Owner', ['*']);
const acrDelete = role('AcrDelete', ['Microsoft.ContainerRegistry/registries/artifacts/delete']);
const repositoryReader = role('Container Registry Repository Reader', [], {
  dataActions: [
    'Microsoft.ContainerRegistry/registries/repositories/content/read',
    'Microsoft.ContainerRegistry/registries/repositories/metadata/read',
  ],
});

const classify = (view: ClusterView, grants: RoleGrantView[] | 'unreadable' = [acrPull]) =>
  classifyCluster({
    cluster: view,
    registry,
    registryName: 'contoso',
    grants: grants === 'unreadable' ? undefined : grants,
    now: new Date(0),
  });

describe('classifyCluster', () => {
  it('a capable pool of a cluster with AcrPull in the registry region streams, with no reasons', () => {
    const verdict = classify(cluster([capablePool]));
    expect(verdict).toMatchObject({ state: 'streaming', pull: 'granted', regionServed: true });
    expect(verdict.pullRoles).toEqual([`AcrPull at ${registryId}`]);
    expect(verdict.pools).toEqual([expect.objectContaining({ name: 'nodes', nodes: 3, canStream: true, reasons: [] })]);
  });

  it.each([
    [{ artifactStreamingEnabled: false }, 'streaming-disabled', /az aks nodepool update --resource-group aks-rg/],
    [{ vmSize: 'Standard_D4ps_v5' }, 'arm64', /--node-vm-size Standard_D4s_v5 --enable-artifact-streaming/],
    [{ osSku: 'AzureLinuxOSGuard' }, 'os-guard', /--os-sku AzureLinux /],
    [{ kubernetesVersion: '1.25.11' }, 'kubernetes-version', /az aks nodepool upgrade .* --kubernetes-version 1\.30/],
    [{ workloadRuntime: 'KataVmIsolation' }, 'pod-sandboxing', /az aks nodepool add/],
    [{ vmSize: 'Standard_DC4as_v5' }, 'confidential-vm', /--node-vm-size Standard_D4as_v5/],
    [{ nodeImageVersion: 'AKSUbuntu-2204containerd-202511.07.0' }, 'gen1-vm', /az aks nodepool add/],
    [{ osType: 'Windows', osSku: 'Windows2022' }, 'windows', /--os-type Linux/],
    [{ osSku: 'AzureContainerLinux' }, 'os-sku', /--os-sku AzureLinux/],
  ] as const)('a pool with %j cannot stream: %s, with the fix', (change, code, fix) => {
    const verdict = classify(cluster([capablePool, { ...capablePool, name: 'bad', ...change }]));
    expect(verdict.state).toBe('partial');
    const bad = verdict.pools.find((pool) => pool.name === 'bad');
    expect(bad?.canStream).toBe(false);
    expect(bad?.reasons.map((reason) => reason.code)).toEqual([code]);
    expect(bad?.reasons[0]?.fix).toMatch(fix);
    expect(bad?.reasons[0]?.fix).toContain('--cluster-name aks1');
  });

  it('does not also ask to enable streaming on a pool that only a new pool fixes', () => {
    const verdict = classify(
      cluster([{ ...capablePool, vmSize: 'Standard_D4ps_v5', artifactStreamingEnabled: false }]),
    );
    expect(verdict.pools[0]?.reasons.map((reason) => reason.code)).toEqual(['arm64']);
  });

  it('asks to upgrade the control plane first when it is older than 1.26 too', () => {
    const verdict = classify(
      cluster([{ ...capablePool, kubernetesVersion: '1.25.6' }], { kubernetesVersion: '1.25.6' }),
    );
    expect(verdict.state).toBe('cannot-stream');
    expect(verdict.pools[0]?.reasons[0]?.fix).toMatch(/^az aks get-upgrades .*az aks upgrade --resource-group aks-rg/);
  });

  it('a cluster in a region without a replica still streams, and the advice creates the replica', () => {
    const verdict = classify(cluster([capablePool], { location: 'Japan East' }));
    expect(verdict).toMatchObject({ state: 'streaming', regionServed: false });
    expect(verdict.reason).toMatch(/stream across regions/);
    expect(verdict.fix).toBe('az acr replication create --registry contoso --location Japan East');
    expect(verdict.pools[0]?.reasons).toEqual([]);
  });

  it('a replica in the cluster region serves it, whatever the spelling of the region', () => {
    const verdict = classify(cluster([capablePool], { location: 'West Europe' }));
    expect(verdict).toMatchObject({ state: 'streaming', regionServed: true });
    expect(verdict.fix).toBeUndefined();
  });

  it('a kubelet identity with no role that pulls is no consumer, and the fix attaches the registry', () => {
    const verdict = classify(cluster([capablePool]), [acrDelete]);
    expect(verdict).toMatchObject({ state: 'no-pull', pull: 'missing', pullRoles: [] });
    expect(verdict.fix).toBe(`az aks update --resource-group aks-rg --name aks1 --attach-acr ${registryId}`);
  });

  it('unreadable assignments leave pull unknown and still judge the pools', () => {
    const verdict = classify(cluster([capablePool]), 'unreadable');
    expect(verdict).toMatchObject({ state: 'streaming', pull: 'unknown' });
    expect(verdict.reason).toMatch(/Reader on the registry/);
  });

  it('a stopped pool counts no nodes', () => {
    const verdict = classify(cluster([{ ...capablePool, powerState: 'Stopped' }]));
    expect(verdict.pools[0]?.nodes).toBe(0);
  });
});

describe('grantIncludesPull', () => {
  it('in the default mode reads the pull action, wildcards included', () => {
    expect([acrPull, reader, owner, acrDelete, repositoryReader].map((g) => grantIncludesPull(g, undefined))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('honours notActions', () => {
    const denied = role('Custom', ['Microsoft.ContainerRegistry/*'], {
      notActions: ['Microsoft.ContainerRegistry/registries/pull/read'],
    });
    expect(grantIncludesPull(denied, 'LegacyRegistryPermissions')).toBe(false);
  });

  it('in ABAC mode only the repository roles data action pulls', () => {
    const mode = 'AbacRepositoryPermissions';
    expect([acrPull, reader, owner, repositoryReader].map((g) => grantIncludesPull(g, mode))).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });
});

describe('VM sizes and node images', () => {
  it.each([
    ['Standard_D4ps_v5', true],
    ['Standard_E8pds_v5', true],
    ['Standard_D2pls_v5', true],
    ['Standard_B2pts_v2', true],
    ['Standard_D4s_v5', false],
    ['Standard_DS2_v2', false],
    ['Standard_D4ads_v5', false],
  ])('%s is ARM64: %s', (size, expected) => expect(isArm64VmSize(size)).toBe(expected));

  it.each([
    ['Standard_DC4as_v5', true],
    ['Standard_EC8eds_v5', true],
    ['Standard_DC2s_v3', false],
    ['Standard_D4as_v5', false],
  ])('%s is a confidential VM: %s', (size, expected) => expect(isConfidentialVmSize(size)).toBe(expected));

  it('reads the VM generation from the node image', () => {
    expect(isGen1NodeImage('AKSUbuntu-2204gen2containerd-202511.07.0')).toBe(false);
    expect(isGen1NodeImage('AKSAzureLinux-V2gen2-202511.07.0')).toBe(false);
    expect(isGen1NodeImage('AKSUbuntu-2204containerd-202511.07.0')).toBe(true);
    expect(isGen1NodeImage(undefined)).toBe(false);
  });

  it('suggests the AMD64, non-confidential size of the same family', () => {
    expect(amd64Equivalent('Standard_D4ps_v5')).toBe('Standard_D4s_v5');
    expect(amd64Equivalent('Standard_EC8eds_v5')).toBe('Standard_E8eds_v5');
    expect(amd64Equivalent(undefined)).toBe('Standard_D4s_v5');
  });
});

describe('streamingCapacity', () => {
  it('counts nodes of capable pools over clusters that pull', () => {
    const streaming = classify(cluster([capablePool, { ...capablePool, name: 'arm', vmSize: 'Standard_D4ps_v5' }]));
    const noPull = classify(cluster([capablePool]), []);
    expect(streamingCapacity([streaming, noPull])).toEqual({ nodes: 6, streamingNodes: 3 });
  });
});
