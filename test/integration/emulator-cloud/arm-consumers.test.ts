import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { NetworkManagementClient } from '@azure/arm-network';
import { isRestError } from '@azure/core-rest-pipeline';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CLUSTERS, SANDBOX_CONSUMER_SCOPE, SANDBOX_SUBSCRIPTION } from '../../../dev/emulator/arm/index.js';
import { startSandboxEmulator, type SandboxEmulator } from '../../../dev/emulator/sandbox.js';
import { armConsumerSource, parseConsumerScope } from '../../../lib/registry/consumer-source.js';
import type { ClusterView, ConsumerSource } from '../../../lib/consumers/model.js';
import { RegistryClient } from '../../../lib/registry/client.js';
import { trustingHttpClient } from '../../support/trust.js';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const status = async (promise: Promise<unknown>): Promise<number | undefined> => {
  try {
    await promise;
    return 200;
  } catch (error) {
    return isRestError(error) ? error.statusCode : undefined;
  }
};

/**
 * The emulator's ARM for the consumer audit (issue #20), read by the real SDK clients the adapter uses, and the
 * adapter (lib/registry/consumer-source.ts) against it; plus the rule that ARM and the registry's data plane agree on
 * who may pull.
 */
describe('emulated ARM for AKS consumers, and the ARM consumer adapter', () => {
  let sandbox: SandboxEmulator;
  let credential: ClientSecretCredential;
  let ca: string;
  let registryId: string;
  let aks: ContainerServiceClient;
  let authorization: AuthorizationManagementClient;
  let acr: ContainerRegistryManagementClient;
  let network: NetworkManagementClient;
  let source: ConsumerSource;
  const rg = 'aks-rg';

  beforeAll(async () => {
    const directory = await mkdtemp(join(tmpdir(), 'arm-consumers-'));
    sandbox = await startSandboxEmulator({ directory, realTime: false, seed: true });
    ca = await readFile(sandbox.emulator.caFile, 'utf8');
    const { tenantId, clientId, clientSecret } = sandbox.appClient;
    credential = new ClientSecretCredential(tenantId, clientId, clientSecret, {
      authorityHost: sandbox.emulator.managementUrl,
      disableInstanceDiscovery: true,
      tlsOptions: { ca },
    });
    const endpoint = sandbox.emulator.managementUrl;
    const httpClient = trustingHttpClient(sandbox.emulator.caFile);
    aks = new ContainerServiceClient(credential, SANDBOX_SUBSCRIPTION, { endpoint, httpClient });
    authorization = new AuthorizationManagementClient(credential, SANDBOX_SUBSCRIPTION, { endpoint, httpClient });
    acr = new ContainerRegistryManagementClient(credential, SANDBOX_SUBSCRIPTION, { endpoint, httpClient });
    network = new NetworkManagementClient(credential, SANDBOX_SUBSCRIPTION, { endpoint, httpClient });
    source = armConsumerSource({ credential, armEndpoint: endpoint, httpClient });
    registryId = (JSON.parse(sandbox.appSettings().REGISTRIES!) as { resourceId: string }[])[0]!.resourceId;
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('lists and reads the seeded clusters and pools with @azure/arm-containerservice', async () => {
    const all = await collect(aks.managedClusters.list());
    expect(all.map((c) => c.name).sort()).toEqual(['aks-mixed', 'aks-nopull', 'aks-streaming']);
    expect((await collect(aks.managedClusters.listByResourceGroup(rg))).length).toBe(3);
    const streaming = await aks.managedClusters.get(rg, 'aks-streaming');
    expect(streaming).toMatchObject({
      location: 'westeurope',
      kubernetesVersion: '1.30',
      currentKubernetesVersion: '1.30.7',
      identityProfile: { kubeletidentity: { objectId: SANDBOX_CLUSTERS.streaming.kubelet.objectId } },
      networkProfile: { outboundType: 'loadBalancer' },
      apiServerAccessProfile: { enablePrivateCluster: false },
    });
    expect(streaming.agentPoolProfiles?.map((p) => p.name)).toEqual(['nodepool1', 'azlinux']);
    const pools = await collect(aks.agentPools.list(rg, 'aks-mixed'));
    expect(pools.map((p) => p.name)).toEqual(['system', 'arm64', 'osguard', 'k8s125']);
    const arm64 = await aks.agentPools.get(rg, 'aks-mixed', 'arm64');
    expect(arm64).toMatchObject({
      vmSize: 'Standard_D4ps_v5',
      osType: 'Linux',
      osSKU: 'Ubuntu',
      mode: 'User',
      powerState: { code: 'Running' },
      artifactStreamingProfile: { enabled: true },
    });
    expect(await status(aks.managedClusters.get(rg, 'nope'))).toBe(404);
  });

  it('pages cluster lists with nextLink (the SDK follows it)', async () => {
    for (let i = 0; i < 120; i++)
      sandbox.arm.putCluster({
        ...sandbox.arm.cluster(SANDBOX_SUBSCRIPTION, rg, 'aks-nopull')!,
        resourceGroup: 'many-rg',
        name: `c${String(i).padStart(3, '0')}`,
      });
    const many = await collect(aks.managedClusters.listByResourceGroup('many-rg'));
    expect(many).toHaveLength(120);
    // 100 per page (ARM's size here), so the SDK asked twice.
    const listed = sandbox.emulator.state.requestLog.query({ path: 'many-rg/providers/Microsoft.ContainerService' });
    expect(listed.length).toBe(2);
    for (let i = 0; i < 120; i++)
      sandbox.arm.removeCluster(SANDBOX_SUBSCRIPTION, 'many-rg', `c${String(i).padStart(3, '0')}`);
  });

  it('lists role assignments at the registry (made there and inherited) and reads their definitions', async () => {
    const atRegistry = await collect(authorization.roleAssignments.listForScope(registryId, { filter: 'atScope()' }));
    const byPrincipal = (id: string) => atRegistry.filter((a) => a.principalId === id);
    const [direct] = byPrincipal(SANDBOX_CLUSTERS.streaming.kubelet.objectId);
    expect(direct?.scope).toBe(registryId);
    const [inherited] = byPrincipal(SANDBOX_CLUSTERS.mixed.kubelet.objectId);
    expect(inherited?.scope).toBe(registryId.split('/providers/')[0]);
    expect(byPrincipal(SANDBOX_CLUSTERS.noPull.kubelet.objectId)).toEqual([]);
    const definition = await authorization.roleDefinitions.getById(direct!.roleDefinitionId!);
    expect(definition).toMatchObject({
      roleName: 'AcrPull',
      roleType: 'BuiltInRole',
      permissions: [{ actions: ['Microsoft.ContainerRegistry/registries/pull/read'] }],
    });
    const tenantLevel = await authorization.roleDefinitions.getById(
      '/providers/Microsoft.Authorization/roleDefinitions/b93aa761-3e63-49ed-ac28-beffa264f7ac',
    );
    expect(tenantLevel.roleName).toBe('Container Registry Repository Reader');
    // Listing at the resource group leaves out the registry's own (below) under atScope(), not without a filter.
    const group = registryId.split('/providers/')[0]!;
    const atGroup = await collect(authorization.roleAssignments.listForScope(group, { filter: 'atScope()' }));
    expect(atGroup.map((a) => a.principalId)).not.toContain(SANDBOX_CLUSTERS.streaming.kubelet.objectId);
    const below = await collect(
      authorization.roleAssignments.listForScope(group, {
        filter: `principalId eq '${SANDBOX_CLUSTERS.streaming.kubelet.objectId}'`,
      }),
    );
    expect(below.map((a) => a.scope)).toEqual([registryId]);
  });

  it('shows replications (home region included), network rules and private endpoints', async () => {
    expect((await collect(acr.replications.list('emulator-rg', 'sandbox'))).map((r) => r.location)).toEqual([
      'westeurope',
    ]);
    const endpointId = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/net-rg/providers/Microsoft.Network/privateEndpoints/acr-pe`;
    const subnetId = `/subscriptions/${SANDBOX_SUBSCRIPTION}/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe`;
    await sandbox.control.setRegistryNetwork('sandbox', {
      publicNetworkAccess: 'Disabled',
      networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', value: '20.50.10.1' }] },
      privateEndpoints: [{ id: endpointId, status: 'Approved', subnetId }],
      replicas: ['eastus'],
    });
    const registry = await acr.registries.get('emulator-rg', 'sandbox');
    expect(registry).toMatchObject({
      publicNetworkAccess: 'Disabled',
      networkRuleSet: { defaultAction: 'Deny', ipRules: [{ action: 'Allow', iPAddressOrRange: '20.50.10.1' }] },
      privateEndpointConnections: [
        { privateEndpoint: { id: endpointId }, privateLinkServiceConnectionState: { status: 'Approved' } },
      ],
    });
    expect((await network.privateEndpoints.get('net-rg', 'acr-pe')).subnet?.id).toBe(subnetId);
    const view = await source.registry(registryId);
    expect(view).toMatchObject({
      name: 'sandbox',
      location: 'westeurope',
      sku: 'Premium',
      customerManagedKey: false,
      publicNetworkAccess: 'Disabled',
      networkRuleSet: { defaultAction: 'Deny', ipRules: [{ value: '20.50.10.1', action: 'Allow' }] },
      privateEndpoints: [{ id: endpointId, status: 'Approved', subnetId }],
      replicaLocations: ['westeurope', 'eastus'],
      roleAssignmentMode: 'LegacyRegistryPermissions',
    });
    await sandbox.control.setRegistryNetwork('sandbox', {
      publicNetworkAccess: 'Enabled',
      networkRuleSet: { defaultAction: 'Allow', ipRules: [] },
      privateEndpoints: [],
      replicas: [],
    });
  });

  it('the adapter gives the seeded clusters as views, with outbound IPs resolved', async () => {
    const clusters = await collect(source.clusters([SANDBOX_CONSUMER_SCOPE, `/subscriptions/${SANDBOX_SUBSCRIPTION}`]));
    const byName = new Map<string, ClusterView>(clusters.map((c) => [c.name, c]));
    expect([...byName.keys()].sort()).toEqual(['aks-mixed', 'aks-nopull', 'aks-streaming']);
    expect(byName.get('aks-streaming')).toMatchObject({
      id: SANDBOX_CLUSTERS.streaming.id,
      resourceGroup: rg,
      location: 'westeurope',
      kubernetesVersion: '1.30.7',
      kubeletIdentity: { objectId: SANDBOX_CLUSTERS.streaming.kubelet.objectId },
      privateCluster: false,
      outboundType: 'loadBalancer',
      outboundIpAddresses: ['20.50.10.1'],
    });
    expect(byName.get('aks-mixed')?.pools).toEqual([
      expect.objectContaining({ name: 'system', mode: 'System', artifactStreamingEnabled: false }),
      expect.objectContaining({ name: 'arm64', vmSize: 'Standard_D4ps_v5', artifactStreamingEnabled: true }),
      expect.objectContaining({ name: 'osguard', osSku: 'AzureLinuxOSGuard' }),
      expect.objectContaining({ name: 'k8s125', kubernetesVersion: '1.25.16', powerState: 'Running' }),
    ]);
    expect((await source.cluster(SANDBOX_CLUSTERS.noPull.id))?.pools.map((p) => p.name)).toEqual(['nodepool1']);
    expect(await source.cluster(SANDBOX_CLUSTERS.noPull.id.replace('aks-nopull', 'gone'))).toBeUndefined();
  });

  it('a pool changed through the control API shows up', async () => {
    await sandbox.control.patchAgentPool(
      { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: rg, name: 'aks-streaming' },
      'azlinux',
      { artifactStreamingEnabled: false, vmSize: 'Standard_D4ps_v5' },
    );
    const view = await source.cluster(SANDBOX_CLUSTERS.streaming.id);
    expect(view?.pools.find((p) => p.name === 'azlinux')).toMatchObject({
      artifactStreamingEnabled: false,
      vmSize: 'Standard_D4ps_v5',
    });
    await sandbox.control.patchAgentPool(
      { subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: rg, name: 'aks-streaming' },
      'azlinux',
      { artifactStreamingEnabled: true, vmSize: 'Standard_D4s_v5' },
    );
  });

  it('the adapter finds grants on the registry and above it, with their definitions', async () => {
    const { streaming, mixed, noPull } = SANDBOX_CLUSTERS;
    const grants = await source.grants(registryId, [
      streaming.kubelet.objectId,
      mixed.kubelet.objectId,
      noPull.kubelet.objectId,
    ]);
    expect(grants.get(streaming.kubelet.objectId)).toEqual([
      expect.objectContaining({
        roleName: 'AcrPull',
        scope: registryId,
        actions: ['Microsoft.ContainerRegistry/registries/pull/read'],
      }),
    ]);
    expect(grants.get(mixed.kubelet.objectId)).toEqual([
      expect.objectContaining({ roleName: 'AcrPull', scope: registryId.split('/providers/')[0] }),
    ]);
    expect(grants.has(noPull.kubelet.objectId)).toBe(false);
  });

  it('a hostile 403 on role assignments reaches the adapter as a RestError', async () => {
    await sandbox.control.forbidArm(['Microsoft.Authorization/roleAssignments/read']);
    try {
      await expect(source.grants(registryId, ['x'])).rejects.toMatchObject({
        statusCode: 403,
        code: 'AuthorizationFailed',
      });
    } finally {
      await sandbox.control.forbidArm([]);
    }
  });

  it('refuses scopes that are not a subscription, resource group or cluster', () => {
    expect(parseConsumerScope('/subscriptions/s1/resourceGroups/rg')).toEqual({
      kind: 'resourceGroup',
      subscriptionId: 's1',
      resourceGroup: 'rg',
    });
    expect(() => parseConsumerScope('/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/x')).toThrow(
      /not a consumer scope/,
    );
    expect(() => parseConsumerScope('aks-rg')).toThrow(/not a consumer scope/);
  });

  it('ARM and the data plane agree: AcrPull via the control API pulls and is listed; without it, neither', async () => {
    const withRole = {
      clientId: 'c0ffee00-0000-4000-8000-0000000000a1',
      clientSecret: 's1',
      objectId: 'c0ffee00-0000-4000-8000-00000000ab01',
    };
    const without = {
      clientId: 'c0ffee00-0000-4000-8000-0000000000a2',
      clientSecret: 's2',
      objectId: 'c0ffee00-0000-4000-8000-00000000ab02',
    };
    sandbox.entra.registerClient(withRole);
    sandbox.entra.registerClient(without);
    // Assigned at the resource group: the data plane inherits it, ARM lists it at the registry.
    await sandbox.control.addRoleAssignment({
      scope: registryId.split('/providers/')[0]!,
      principalId: withRole.objectId,
      role: 'AcrPull',
    });
    // Known to the registry with no role (else the friendly default would let it do anything).
    await sandbox.control.assignRoles('sandbox', without.objectId, []);
    const registry = sandbox.emulator.registry('sandbox');
    const pull = (client: { clientId: string; clientSecret: string }) =>
      new RegistryClient({
        loginServer: registry.loginServer,
        credentials: {
          type: 'identity',
          credential: new ClientSecretCredential(sandbox.appClient.tenantId, client.clientId, client.clientSecret, {
            authorityHost: sandbox.emulator.managementUrl,
            disableInstanceDiscovery: true,
            tlsOptions: { ca },
          }),
          audience: 'https://containerregistry.azure.net',
        },
        httpClient: trustingHttpClient(registry.caFile),
      }).resolveTag('team-a/app', 'v1');
    await expect(pull(withRole)).resolves.toMatch(/^sha256:/);
    await expect(pull(without)).rejects.toThrow();
    const grants = await source.grants(registryId, [withRole.objectId, without.objectId]);
    expect(grants.get(withRole.objectId)?.map((g) => g.roleName)).toEqual(['AcrPull']);
    expect(grants.has(without.objectId)).toBe(false);
  });
});
