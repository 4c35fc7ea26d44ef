/**
 * What the emulator's ARM knows beyond registries (issue #20): AKS clusters and their pools, role assignments made
 * above a registry (its resource group, subscription; the ones on a registry live in its data-plane permission store,
 * registry/permissions.ts, so ARM and the data plane read one truth), the registry's network settings and
 * replications, the Microsoft.Network resources those point at, and hostile switches. Mutable through the control API
 * (arm/cloud-control.ts); read by the ARM handler (arm/arm.ts → arm/cloud-routes.ts).
 */
import { registryResourceId, type EmulatorClock, type RegistryDefinition } from '../contract.js';
import { registryRoles, type RegistryRole, type RoleAssignment } from '../registry/permissions.js';

/** An agent pool's fields as ARM shows them (managedClusters/agentPools, api-version 2026-04-01). */
export interface StoredAgentPool {
  name: string;
  mode: 'System' | 'User';
  count: number;
  enableAutoScaling?: boolean | undefined;
  minCount?: number | undefined;
  maxCount?: number | undefined;
  vmSize: string;
  osType: 'Linux' | 'Windows';
  /** An open set in the API (`Ubuntu`, `AzureLinux`, `AzureLinuxOSGuard`, `Windows2022`, …). */
  osSKU: string;
  /** What was asked (`1.30` or `1.30.7`); `currentOrchestratorVersion` is the full version the nodes run. */
  orchestratorVersion: string;
  currentOrchestratorVersion?: string | undefined;
  /** `OCIContainer` (default), `WasmWasi`, `KataVmIsolation`. */
  workloadRuntime?: string | undefined;
  nodeImageVersion?: string | undefined;
  powerState: 'Running' | 'Stopped';
  vnetSubnetID?: string | undefined;
  artifactStreamingEnabled?: boolean | undefined;
  securityProfile?: { enableVTPM?: boolean; enableSecureBoot?: boolean; sshAccess?: string } | undefined;
}

export interface StoredCluster {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  kubernetesVersion: string;
  currentKubernetesVersion?: string | undefined;
  /** `identityProfile.kubeletidentity`: objectId is the principal its role assignments name. */
  kubeletIdentity: { clientId: string; objectId: string; resourceId: string };
  outboundType: 'loadBalancer' | 'userDefinedRouting' | 'managedNATGateway' | 'userAssignedNATGateway' | 'none';
  /** Public IP IDs of `loadBalancerProfile.effectiveOutboundIPs` (create them with {@link ArmCloud.putPublicIp}). */
  outboundIpIds: string[];
  privateCluster: boolean;
  pools: StoredAgentPool[];
  createdAt?: string | undefined;
}

/** A role assignment ARM keeps itself: one made above a registry, or on any scope that is not a registry. */
export interface StoredRoleAssignment {
  /** The assignment's name (a GUID). */
  readonly name: string;
  readonly scope: string;
  readonly principalId: string;
  readonly principalType: 'ServicePrincipal' | 'User' | 'Group';
  readonly role: RegistryRole;
  /** Repository condition (ABAC) as for registry/permissions.ts; only meaningful at a registry scope. */
  readonly repositories?: readonly string[] | undefined;
  readonly createdOn: string;
}

export interface RegistryNetwork {
  publicNetworkAccess: 'Enabled' | 'Disabled';
  /** Premium only, as ACR: Basic and Standard registries have no networkRuleSet. */
  networkRuleSet: { defaultAction: 'Allow' | 'Deny'; ipRules: { action: 'Allow'; value: string }[] };
  privateEndpoints: { id: string; status: 'Approved' | 'Pending' | 'Rejected' | 'Disconnected' }[];
  /** Replica locations besides the home region (which ACR always lists). */
  replicas: string[];
}

/** ARM operations a hostile switch can refuse with 403 AuthorizationFailed. */
export const forbiddableOperations = [
  'Microsoft.Authorization/roleAssignments/read',
  'Microsoft.Authorization/roleDefinitions/read',
  'Microsoft.ContainerService/managedClusters/read',
  'Microsoft.ContainerRegistry/registries/read',
  'Microsoft.Network/privateEndpoints/read',
  'Microsoft.Network/publicIPAddresses/read',
] as const;
export type ForbiddableOperation = (typeof forbiddableOperations)[number];

const lower = (value: string): string => value.toLowerCase();

/** Whether `scope` is `target` or one of its ancestors (path-segment boundary, case-insensitive, as ARM IDs are). */
export function scopeContains(scope: string, target: string): boolean {
  const s = lower(scope).replace(/\/+$/, '');
  const t = lower(target).replace(/\/+$/, '');
  return s === '' || t === s || t.startsWith(`${s}/`);
}

export function clusterResourceId(cluster: Pick<StoredCluster, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${cluster.subscriptionId}/resourceGroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}`;
}

/** Deterministic GUID-looking value derived from a string, so repeated reads agree. */
export function stableGuid(seed: string): string {
  let hash = 0x811c9dc5;
  const bytes: number[] = [];
  for (let i = 0; i < 16; i++) {
    for (const char of `${seed}#${i}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
    bytes.push(hash & 0xff);
  }
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class ArmCloud {
  readonly #clusters = new Map<string, StoredCluster>();
  #assignments: StoredRoleAssignment[] = [];
  readonly #networks = new Map<string, RegistryNetwork>();
  readonly #publicIps = new Map<string, { id: string; ipAddress: string; location: string }>();
  readonly #privateEndpoints = new Map<string, { id: string; subnetId: string; location: string }>();
  /** Hostile mode: these operations answer 403 AuthorizationFailed (e.g. the app lacks Reader). */
  readonly forbidden = new Set<ForbiddableOperation>();

  constructor(readonly clock: EmulatorClock) {}

  // ---- clusters ----
  clusters(): StoredCluster[] {
    return [...this.#clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
  cluster(subscriptionId: string, resourceGroup: string, name: string): StoredCluster | undefined {
    return this.#clusters.get(lower(clusterResourceId({ subscriptionId, resourceGroup, name })));
  }
  putCluster(cluster: StoredCluster): StoredCluster {
    const record = { createdAt: this.clock.now().toISOString(), ...cluster };
    this.#clusters.set(lower(clusterResourceId(record)), record);
    return record;
  }
  removeCluster(subscriptionId: string, resourceGroup: string, name: string): boolean {
    return this.#clusters.delete(lower(clusterResourceId({ subscriptionId, resourceGroup, name })));
  }

  // ---- role assignments above (or beside) registries ----
  assignments(): readonly StoredRoleAssignment[] {
    return this.#assignments;
  }
  addAssignment(input: Omit<StoredRoleAssignment, 'name' | 'createdOn'>): StoredRoleAssignment {
    const existing = this.#assignments.find(
      (a) => lower(a.scope) === lower(input.scope) && a.principalId === input.principalId && a.role === input.role,
    );
    if (existing) return existing;
    const assignment: StoredRoleAssignment = {
      ...input,
      name: stableGuid(`${lower(input.scope)}|${input.principalId}|${input.role}`),
      createdOn: this.clock.now().toISOString(),
    };
    this.#assignments.push(assignment);
    return assignment;
  }
  /** Removes the principal's assignments at exactly this scope (of one role, or all); returns how many. */
  removeAssignments(scope: string, principalId: string, role?: RegistryRole): number {
    const before = this.#assignments.length;
    this.#assignments = this.#assignments.filter(
      (a) =>
        !(lower(a.scope) === lower(scope) && a.principalId === principalId && (role === undefined || a.role === role)),
    );
    return before - this.#assignments.length;
  }
  /**
   * What the registry's data plane inherits for an identity: its assignments at scopes above the registry (a registry
   * scope itself is kept by the registry's own permission store, never here).
   */
  inherited(registry: RegistryDefinition, principalId: string): RoleAssignment[] {
    const id = registryResourceId(registry);
    return this.#assignments
      .filter((a) => a.principalId === principalId && scopeContains(a.scope, id) && lower(a.scope) !== lower(id))
      .filter((a) => (registryRoles as readonly string[]).includes(a.role))
      .map((a) => ({ role: a.role }));
  }

  // ---- registry network and replications ----
  network(registry: string): RegistryNetwork {
    let network = this.#networks.get(lower(registry));
    if (!network) {
      // ACR's defaults for a new registry: public access on, firewall allowing all, no endpoints, home region only.
      network = {
        publicNetworkAccess: 'Enabled',
        networkRuleSet: { defaultAction: 'Allow', ipRules: [] },
        privateEndpoints: [],
        replicas: [],
      };
      this.#networks.set(lower(registry), network);
    }
    return network;
  }

  // ---- Microsoft.Network ----
  putPublicIp(id: string, ipAddress: string, location = 'westeurope'): void {
    this.#publicIps.set(lower(id), { id, ipAddress, location });
  }
  publicIp(id: string): { id: string; ipAddress: string; location: string } | undefined {
    return this.#publicIps.get(lower(id));
  }
  putPrivateEndpoint(id: string, subnetId: string, location = 'westeurope'): void {
    this.#privateEndpoints.set(lower(id), { id, subnetId, location });
  }
  privateEndpoint(id: string): { id: string; subnetId: string; location: string } | undefined {
    return this.#privateEndpoints.get(lower(id));
  }

  /** Subscriptions and resource groups that exist because something lives in them (ARM 404s the others). */
  holds(subscriptionId: string, resourceGroup?: string): boolean {
    const ids = [
      ...[...this.#clusters.values()].map(clusterResourceId),
      ...[...this.#publicIps.values()].map((p) => p.id),
      ...[...this.#privateEndpoints.values()].map((p) => p.id),
    ];
    const prefix =
      resourceGroup === undefined
        ? `/subscriptions/${subscriptionId}`
        : `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}`;
    return ids.some((id) => scopeContains(prefix, id));
  }
}
