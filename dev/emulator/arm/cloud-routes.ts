/**
 * The ARM routes beyond Microsoft.ContainerRegistry (issue #20), answered from {@link ArmCloud} and the registries'
 * permission stores. arm.ts authenticates and checks the method and api-version first, as for registries.
 *
 * - Microsoft.ContainerService managedClusters (list by subscription / resource group, get) and agentPools (list,
 *   get), api-version 2026-04-01 (@azure/arm-containerservice 25.3); JSON as the REST API shows it (the SDK's
 *   deserializers in node_modules/@azure/arm-containerservice/dist/commonjs/models/models.js flatten `properties`).
 * - Microsoft.Authorization roleAssignments list for a scope and roleDefinitions by id, api-version 2022-04-01
 *   (@azure/arm-authorization 9).
 * - Microsoft.Network privateEndpoints and publicIPAddresses get, api-version 2026-01-01 (@azure/arm-network 39).
 */
import type { EmulatorRequest, EmulatorResponse } from '../contract.js';
import { registryResourceId } from '../contract.js';
import type { RegistryPermissions, RoleAssignment } from '../registry/permissions.js';
import {
  clusterResourceId,
  scopeContains,
  stableGuid,
  type ArmCloud,
  type ForbiddableOperation,
  type StoredAgentPool,
  type StoredCluster,
  type StoredRoleAssignment,
} from './cloud.js';
import { armError, armErrors } from './errors.js';
import type { ArmRegistry } from './resources.js';
import { roleByGuid, roleByName, roleDefinitionResource } from './roles.js';

export interface CloudRouteContext {
  readonly cloud: ArmCloud;
  readonly registries: () => readonly ArmRegistry[];
  readonly permissions: (registry: string) => RegistryPermissions | undefined;
  /** The caller's object id, for the 403 message. */
  readonly caller: string;
  readonly page: (items: readonly Record<string, unknown>[]) => EmulatorResponse;
  /** ISO time the registry-scope assignments report as created (they carry no time of their own). */
  readonly createdAt: string;
}

type CloudRoute =
  | {
      readonly kind: 'clusters';
      readonly subscriptionId: string;
      readonly resourceGroup: string | undefined;
      readonly cluster: string | undefined;
      readonly pools: boolean;
      readonly pool: string | undefined;
    }
  | { readonly kind: 'roleAssignments'; readonly scope: string }
  | { readonly kind: 'roleDefinition'; readonly scope: string; readonly guid: string }
  | {
      readonly kind: 'network';
      readonly type: 'privateEndpoints' | 'publicIPAddresses';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly name: string;
    };

const CLUSTERS = new RegExp(
  String.raw`^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/providers/microsoft\.containerservice/managedclusters(?:/([^/]+)(?:/(agentpools)(?:/([^/]+))?)?)?/?$`,
  'i',
);
const ROLE_ASSIGNMENTS = /^(\/subscriptions\/.+?)?\/providers\/microsoft\.authorization\/roleassignments\/?$/i;
const ROLE_DEFINITION = /^(\/subscriptions\/.+?)?\/providers\/microsoft\.authorization\/roledefinitions\/([^/]+)\/?$/i;
const NETWORK =
  /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.network\/(privateendpoints|publicipaddresses)\/([^/]+)\/?$/i;

export function matchCloudRoute(path: string): CloudRoute | undefined {
  let m = CLUSTERS.exec(path);
  if (m) {
    const [, subscriptionId = '', resourceGroup, cluster, pools, pool] = m;
    if (cluster !== undefined && resourceGroup === undefined) return undefined;
    return { kind: 'clusters', subscriptionId, resourceGroup, cluster, pools: pools !== undefined, pool };
  }
  m = ROLE_ASSIGNMENTS.exec(path);
  if (m) return { kind: 'roleAssignments', scope: m[1] ?? '/' };
  m = ROLE_DEFINITION.exec(path);
  if (m) return { kind: 'roleDefinition', scope: m[1] ?? '', guid: m[2] ?? '' };
  m = NETWORK.exec(path);
  if (m) {
    const [, subscriptionId = '', resourceGroup = '', type = '', name = ''] = m;
    return {
      kind: 'network',
      type: type.toLowerCase() === 'privateendpoints' ? 'privateEndpoints' : 'publicIPAddresses',
      subscriptionId,
      resourceGroup,
      name,
    };
  }
  return undefined;
}

/** ARM's answer when the caller's roles lack the action (the shape and wording of a real AuthorizationFailed). */
function authorizationFailed(caller: string, action: string, scope: string): EmulatorResponse {
  return armError(
    403,
    'AuthorizationFailed',
    `The client '${caller}' with object id '${caller}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
  );
}

export function handleCloudRoute(
  route: CloudRoute,
  request: EmulatorRequest,
  ctx: CloudRouteContext,
): EmulatorResponse {
  const forbidden = (action: ForbiddableOperation, scope: string): EmulatorResponse | undefined =>
    ctx.cloud.forbidden.has(action) ? authorizationFailed(ctx.caller, action, scope) : undefined;
  switch (route.kind) {
    case 'clusters':
      return forbidden('Microsoft.ContainerService/managedClusters/read', request.path) ?? clusters(route, ctx);
    case 'roleAssignments':
      return (
        forbidden('Microsoft.Authorization/roleAssignments/read', route.scope) ??
        roleAssignments(route.scope, request.query.get('$filter'), ctx)
      );
    case 'roleDefinition': {
      const denied = forbidden('Microsoft.Authorization/roleDefinitions/read', route.scope || '/');
      if (denied) return denied;
      const definition = roleByGuid(route.guid);
      if (!definition)
        return armError(
          404,
          'RoleDefinitionDoesNotExist',
          'The specified role definition with ID ' + `'${route.guid}' does not exist.`,
        );
      const subscription = /^\/subscriptions\/([^/]+)/i.exec(route.scope)?.[1];
      return { status: 200, body: roleDefinitionResource(definition, subscription) };
    }
    case 'network':
      return network(route, ctx, forbidden);
  }
}

// ---- Microsoft.ContainerService ----

function clusters(route: Extract<CloudRoute, { kind: 'clusters' }>, ctx: CloudRouteContext): EmulatorResponse {
  const knownSubscription =
    ctx.cloud.holds(route.subscriptionId) ||
    ctx.registries().some((r) => r.subscriptionId.toLowerCase() === route.subscriptionId.toLowerCase());
  if (!knownSubscription) return armErrors.subscriptionNotFound(route.subscriptionId);
  const inSubscription = ctx.cloud
    .clusters()
    .filter((c) => c.subscriptionId.toLowerCase() === route.subscriptionId.toLowerCase());
  if (route.resourceGroup === undefined) return ctx.page(inSubscription.map(managedClusterResource));
  const group = route.resourceGroup;
  const knownGroup =
    ctx.cloud.holds(route.subscriptionId, group) ||
    ctx.registries().some((r) => r.resourceGroup.toLowerCase() === group.toLowerCase());
  if (!knownGroup) return armErrors.resourceGroupNotFound(group);
  const inGroup = inSubscription.filter((c) => c.resourceGroup.toLowerCase() === group.toLowerCase());
  if (route.cluster === undefined) return ctx.page(inGroup.map(managedClusterResource));
  const cluster = inGroup.find((c) => c.name.toLowerCase() === route.cluster?.toLowerCase());
  if (!cluster) return armErrors.resourceNotFound(`Microsoft.ContainerService/managedClusters/${route.cluster}`, group);
  if (!route.pools) return { status: 200, body: managedClusterResource(cluster) };
  if (route.pool === undefined) return ctx.page(cluster.pools.map((p) => agentPoolResource(cluster, p)));
  const pool = cluster.pools.find((p) => p.name.toLowerCase() === route.pool?.toLowerCase());
  if (!pool)
    return armError(404, 'NotFound', `Could not find agent pool ${route.pool} in managed cluster ${cluster.name}.`);
  return { status: 200, body: agentPoolResource(cluster, pool) };
}

/** The node resource group AKS creates (`MC_{rg}_{name}_{location}`), where its kubelet identity and IPs live. */
export function nodeResourceGroup(cluster: Pick<StoredCluster, 'resourceGroup' | 'name' | 'location'>): string {
  return `MC_${cluster.resourceGroup}_${cluster.name}_${cluster.location}`;
}

/** The pool properties as the REST API nests them under `properties` (and inline in `agentPoolProfiles`). */
function agentPoolProperties(pool: StoredAgentPool): Record<string, unknown> {
  return {
    count: pool.count,
    vmSize: pool.vmSize,
    osDiskSizeGB: 128,
    osDiskType: 'Managed',
    kubeletDiskType: 'OS',
    workloadRuntime: pool.workloadRuntime ?? 'OCIContainer',
    maxPods: 110,
    type: 'VirtualMachineScaleSets',
    enableAutoScaling: pool.enableAutoScaling ?? false,
    ...(pool.minCount !== undefined ? { minCount: pool.minCount } : {}),
    ...(pool.maxCount !== undefined ? { maxCount: pool.maxCount } : {}),
    provisioningState: 'Succeeded',
    powerState: { code: pool.powerState },
    orchestratorVersion: pool.orchestratorVersion,
    currentOrchestratorVersion: pool.currentOrchestratorVersion ?? pool.orchestratorVersion,
    ...(pool.nodeImageVersion !== undefined ? { nodeImageVersion: pool.nodeImageVersion } : {}),
    mode: pool.mode,
    osType: pool.osType,
    osSKU: pool.osSKU,
    ...(pool.vnetSubnetID !== undefined ? { vnetSubnetID: pool.vnetSubnetID } : {}),
    enableFIPS: false,
    upgradeSettings: { maxSurge: '10%' },
    // The API omits the profile when streaming was never turned on; `enabled: false` once it was switched off.
    ...(pool.artifactStreamingEnabled !== undefined
      ? { artifactStreamingProfile: { enabled: pool.artifactStreamingEnabled } }
      : {}),
    securityProfile: { enableVTPM: false, enableSecureBoot: false, sshAccess: 'LocalUser', ...pool.securityProfile },
  };
}

export function agentPoolResource(cluster: StoredCluster, pool: StoredAgentPool): Record<string, unknown> {
  return {
    id: `${clusterResourceId(cluster)}/agentPools/${pool.name}`,
    name: pool.name,
    type: 'Microsoft.ContainerService/managedClusters/agentPools',
    properties: agentPoolProperties(pool),
  };
}

export function managedClusterResource(cluster: StoredCluster): Record<string, unknown> {
  const id = clusterResourceId(cluster);
  const dnsPrefix = `${cluster.name}-dns`;
  return {
    id,
    location: cluster.location,
    name: cluster.name,
    tags: {},
    type: 'Microsoft.ContainerService/ManagedClusters',
    sku: { name: 'Base', tier: 'Free' },
    identity: { type: 'SystemAssigned', principalId: stableGuid(`${id}/identity`), tenantId: stableGuid('tenant') },
    properties: {
      provisioningState: 'Succeeded',
      powerState: { code: 'Running' },
      kubernetesVersion: cluster.kubernetesVersion,
      currentKubernetesVersion: cluster.currentKubernetesVersion ?? cluster.kubernetesVersion,
      dnsPrefix,
      ...(cluster.privateCluster
        ? { privateFQDN: `${dnsPrefix}.privatelink.${cluster.location}.azmk8s.io` }
        : { fqdn: `${dnsPrefix}.hcp.${cluster.location}.azmk8s.io` }),
      agentPoolProfiles: cluster.pools.map((pool) => ({ name: pool.name, ...agentPoolProperties(pool) })),
      nodeResourceGroup: nodeResourceGroup(cluster),
      enableRBAC: true,
      supportPlan: 'KubernetesOfficial',
      networkProfile: {
        networkPlugin: 'azure',
        networkPluginMode: 'overlay',
        podCidr: '10.244.0.0/16',
        serviceCidr: '10.0.0.0/16',
        dnsServiceIP: '10.0.0.10',
        outboundType: cluster.outboundType,
        loadBalancerSku: 'standard',
        ...(cluster.outboundType === 'loadBalancer'
          ? {
              loadBalancerProfile: {
                managedOutboundIPs: { count: Math.max(cluster.outboundIpIds.length, 1) },
                effectiveOutboundIPs: cluster.outboundIpIds.map((ipId) => ({ id: ipId })),
                backendPoolType: 'nodeIPConfiguration',
              },
            }
          : {}),
      },
      apiServerAccessProfile: { enablePrivateCluster: cluster.privateCluster },
      identityProfile: { kubeletidentity: { ...cluster.kubeletIdentity } },
      disableLocalAccounts: false,
      securityProfile: {},
      oidcIssuerProfile: { enabled: false },
    },
  };
}

// ---- Microsoft.Authorization ----

/** One assignment of either store, with the fields the REST API shows. */
interface ListedAssignment {
  readonly name: string;
  readonly scope: string;
  readonly principalId: string;
  readonly principalType: string;
  readonly roleGuid: string;
  readonly condition?: string | undefined;
  readonly createdOn: string;
}

/**
 * A repository condition in the shape ACR documents for ABAC role assignments ("Microsoft Entra attribute-based access
 * control (ABAC) for repository permissions"): the repository name equals, or starts with, a value. Simplified: the
 * emulator names every repository action's attribute once, not per action.
 */
function repositoryCondition(repositories: readonly string[] | undefined): string | undefined {
  if (repositories === undefined) return undefined;
  const clauses = repositories.map((r) =>
    r.endsWith('/')
      ? `@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase '${r}'`
      : `@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase '${r}'`,
  );
  return `(${clauses.join(' OR ')})`;
}

function allAssignments(ctx: CloudRouteContext): ListedAssignment[] {
  const listed: ListedAssignment[] = [];
  // Registry scope: the data plane's own store is the truth (registry/permissions.ts, keyed by Entra object id).
  for (const registry of ctx.registries()) {
    const scope = registryResourceId(registry);
    const permissions = ctx.permissions(registry.name);
    if (!permissions) continue;
    for (const [principalId, assignments] of permissions.assigned())
      for (const assignment of assignments) listed.push(registryAssignment(scope, principalId, assignment, ctx));
  }
  for (const stored of ctx.cloud.assignments()) listed.push(storedAssignment(stored));
  return listed;
}

function registryAssignment(
  scope: string,
  principalId: string,
  assignment: RoleAssignment,
  ctx: CloudRouteContext,
): ListedAssignment {
  const condition = repositoryCondition(assignment.repositories);
  return {
    name: stableGuid(`${scope.toLowerCase()}|${principalId}|${assignment.role}|${condition ?? ''}`),
    scope,
    principalId,
    principalType: 'ServicePrincipal',
    roleGuid: roleByName(assignment.role)?.guid ?? '',
    condition,
    createdOn: ctx.createdAt,
  };
}

function storedAssignment(stored: StoredRoleAssignment): ListedAssignment {
  return {
    name: stored.name,
    scope: stored.scope,
    principalId: stored.principalId,
    principalType: stored.principalType,
    roleGuid: roleByName(stored.role)?.guid ?? '',
    condition: repositoryCondition(stored.repositories),
    createdOn: stored.createdOn,
  };
}

export function roleAssignmentResource(assignment: ListedAssignment): Record<string, unknown> {
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(assignment.scope)?.[1];
  const definitionPrefix = subscription === undefined ? '' : `/subscriptions/${subscription}`;
  return {
    id: `${assignment.scope}/providers/Microsoft.Authorization/roleAssignments/${assignment.name}`,
    name: assignment.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: `${definitionPrefix}/providers/Microsoft.Authorization/roleDefinitions/${assignment.roleGuid}`,
      principalId: assignment.principalId,
      principalType: assignment.principalType,
      scope: assignment.scope,
      ...(assignment.condition !== undefined ? { condition: assignment.condition, conditionVersion: '2.0' } : {}),
      createdOn: assignment.createdOn,
      updatedOn: assignment.createdOn,
      createdBy: stableGuid('emulator-admin'),
      updatedBy: stableGuid('emulator-admin'),
    },
  };
}

/**
 * `$filter` as the SDK documents it for listForScope: `atScope()` "at or above the scope", `principalId eq '{id}'`
 * "at, above or below the scope for the specified principal"; without a filter ARM also lists at, above and below.
 * `assignedTo('{id}')` (group membership is not modelled: the principal itself) may be joined with `atScope()` by
 * `and`, as the CLI's `az role assignment list --assignee` does.
 */
function roleAssignments(scope: string, filter: string | null, ctx: CloudRouteContext): EmulatorResponse {
  let atScope = false;
  let principal: string | undefined;
  for (const clause of filter ? filter.split(/\s+and\s+/i) : []) {
    const text = clause.trim();
    if (/^atScope\(\)$/i.test(text)) {
      atScope = true;
      continue;
    }
    const match = /^principalId\s+eq\s+'?([^']+?)'?$/i.exec(text) ?? /^assignedTo\('([^']+)'\)$/i.exec(text);
    if (!match) return armError(400, 'InvalidFilter', `The filter '${filter ?? ''}' is not supported.`);
    principal = match[1];
  }
  const listed = allAssignments(ctx).filter(
    (a) =>
      (principal === undefined || a.principalId === principal) &&
      (scopeContains(a.scope, scope) || (!atScope && scopeContains(scope, a.scope))),
  );
  return ctx.page(listed.map(roleAssignmentResource));
}

// ---- Microsoft.Network ----

function network(
  route: Extract<CloudRoute, { kind: 'network' }>,
  ctx: CloudRouteContext,
  forbidden: (action: ForbiddableOperation, scope: string) => EmulatorResponse | undefined,
): EmulatorResponse {
  const id = `/subscriptions/${route.subscriptionId}/resourceGroups/${route.resourceGroup}/providers/Microsoft.Network/${route.type}/${route.name}`;
  if (route.type === 'privateEndpoints') {
    const denied = forbidden('Microsoft.Network/privateEndpoints/read', id);
    if (denied) return denied;
    const endpoint = ctx.cloud.privateEndpoint(id);
    if (!endpoint)
      return armErrors.resourceNotFound(`Microsoft.Network/privateEndpoints/${route.name}`, route.resourceGroup);
    return {
      status: 200,
      body: {
        id: endpoint.id,
        name: route.name,
        type: 'Microsoft.Network/privateEndpoints',
        location: endpoint.location,
        etag: `W/"${stableGuid(id)}"`,
        properties: {
          provisioningState: 'Succeeded',
          resourceGuid: stableGuid(`${id}/guid`),
          subnet: { id: endpoint.subnetId },
          privateLinkServiceConnections: [],
          manualPrivateLinkServiceConnections: [],
          networkInterfaces: [],
        },
      },
    };
  }
  const denied = forbidden('Microsoft.Network/publicIPAddresses/read', id);
  if (denied) return denied;
  const ip = ctx.cloud.publicIp(id);
  if (!ip) return armErrors.resourceNotFound(`Microsoft.Network/publicIPAddresses/${route.name}`, route.resourceGroup);
  return {
    status: 200,
    body: {
      id: ip.id,
      name: route.name,
      type: 'Microsoft.Network/publicIPAddresses',
      location: ip.location,
      etag: `W/"${stableGuid(id)}"`,
      sku: { name: 'Standard', tier: 'Regional' },
      properties: {
        provisioningState: 'Succeeded',
        resourceGuid: stableGuid(`${id}/guid`),
        ipAddress: ip.ipAddress,
        publicIPAddressVersion: 'IPv4',
        publicIPAllocationMethod: 'Static',
        idleTimeoutInMinutes: 4,
      },
    },
  };
}
