import { z } from '../core/zod.js';

/**
 * Who streams (issue #20): the AKS clusters that pull from a registry, whether each node pool can stream, and why not.
 * The views are what the app reads through ARM (lib/registry/consumer-source.ts fills them from
 * @azure/arm-containerservice, @azure/arm-authorization, @azure/arm-containerregistry and @azure/arm-network); the
 * verdicts are what the classifier (lib/consumers/classify.ts) makes of them, stored by the consumer audit and shown
 * in the report and the doctor.
 */

/** An agent pool as ARM shows it (Microsoft.ContainerService/managedClusters/agentPools, api-version 2026-04-01). */
export interface AgentPoolView {
  readonly name: string;
  /** `System` or `User`. */
  readonly mode?: string;
  /** Nodes now (`count`); autoscaled pools also have min/max. */
  readonly count?: number;
  readonly minCount?: number;
  readonly maxCount?: number;
  readonly vmSize?: string;
  /** `Linux` or `Windows`. */
  readonly osType?: string;
  /** `Ubuntu`, `AzureLinux`, `AzureLinux3`, `Ubuntu2204`, `AzureLinuxOSGuard`, `Windows2022`, … (an open set). */
  readonly osSku?: string;
  /** `currentOrchestratorVersion`, else `orchestratorVersion`: the Kubernetes version the nodes run. */
  readonly kubernetesVersion?: string;
  /** `OCIContainer`, `WasmWasi` or `KataVmIsolation` (pod sandboxing; older API versions: `KataMshvVmIsolation`). */
  readonly workloadRuntime?: string;
  /** e.g. `AKSUbuntu-2204gen2containerd-202511.07.0`: `gen2` in it marks a Generation 2 VM image. */
  readonly nodeImageVersion?: string;
  /** `artifactStreamingProfile.enabled`; absent means false (the API's default). */
  readonly artifactStreamingEnabled?: boolean;
  /** `vnetSubnetID`: the subnet the nodes join; absent when AKS manages the virtual network. */
  readonly vnetSubnetId?: string;
  /** `powerState.code`: `Running` or `Stopped`. */
  readonly powerState?: string;
}

/** A managed cluster as ARM shows it (Microsoft.ContainerService/managedClusters, api-version 2026-04-01). */
export interface ClusterView {
  /** ARM resource ID, as ARM spells it. */
  readonly id: string;
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  /** `currentKubernetesVersion`, else `kubernetesVersion`: the control plane's version. */
  readonly kubernetesVersion?: string;
  /** `identityProfile.kubeletidentity`: the identity the nodes pull images with. */
  readonly kubeletIdentity?: { readonly objectId?: string; readonly clientId?: string; readonly resourceId?: string };
  /** `apiServerAccessProfile.enablePrivateCluster`. */
  readonly privateCluster?: boolean;
  /**
   * The public IP addresses the cluster's nodes leave through: `networkProfile.loadBalancerProfile
   * .effectiveOutboundIPs` resolved through Microsoft.Network/publicIPAddresses; undefined when they could not be
   * read or the outbound type is not a load balancer.
   */
  readonly outboundIpAddresses?: readonly string[];
  /** `networkProfile.outboundType`: `loadBalancer`, `userDefinedRouting`, `managedNATGateway`, … */
  readonly outboundType?: string;
  readonly pools: readonly AgentPoolView[];
}

/** A private endpoint connected to the registry, with the virtual network its endpoint lives in. */
export interface RegistryPrivateEndpointView {
  /** The private endpoint's resource ID (Microsoft.Network/privateEndpoints). */
  readonly id: string;
  /** `privateLinkServiceConnectionState.status`: `Approved`, `Pending`, `Rejected`, `Disconnected`. */
  readonly status?: string;
  /** The endpoint's subnet (Microsoft.Network/privateEndpoints `subnet.id`); undefined when it could not be read. */
  readonly subnetId?: string;
}

/** What the consumer checks read of the registry itself through ARM (Microsoft.ContainerRegistry, 2025-11-01). */
export interface RegistryNetworkView {
  readonly id: string;
  readonly name: string;
  readonly location: string;
  readonly sku?: string;
  /** `encryption.status === 'enabled'`: customer-managed keys, which streaming refuses. */
  readonly customerManagedKey?: boolean;
  /** `Enabled` or `Disabled`. */
  readonly publicNetworkAccess?: string;
  /** `networkRuleSet`: Premium registries only. */
  readonly networkRuleSet?: {
    readonly defaultAction?: string;
    readonly ipRules: readonly { readonly value: string; readonly action?: string }[];
  };
  readonly privateEndpoints: readonly RegistryPrivateEndpointView[];
  /** Locations of the registry's replications (`registries/{name}/replications`), the home location included. */
  readonly replicaLocations: readonly string[];
  /** `LegacyRegistryPermissions` (default) or `AbacRepositoryPermissions`: which roles grant pull. */
  readonly roleAssignmentMode?: string;
}

/** One role assignment of a principal on (or above) the registry, with its role definition read. */
export interface RoleGrantView {
  readonly principalId: string;
  readonly roleDefinitionId: string;
  /** `roleName` of the definition: `AcrPull`, `Reader`, a custom role's name, … */
  readonly roleName: string;
  /** The scope the assignment was made at (the registry, its resource group, subscription, …). */
  readonly scope: string;
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly dataActions: readonly string[];
  readonly notDataActions: readonly string[];
  /** Set when the assignment has an ABAC condition (repository-scoped grants in ABAC mode). */
  readonly condition?: string;
}

/**
 * The port the consumer audit and the doctor read ARM through (lib/registry/consumer-source.ts implements it with the
 * SDKs; tests may pass a fake). Every method throws the SDK's RestError on an ARM error (403 when the app lacks
 * Reader).
 */
export interface ConsumerSource {
  /** Every managed cluster in the configured scope (subscriptions, resource groups or cluster IDs), pools included. */
  clusters(scope: readonly string[]): AsyncIterable<ClusterView>;
  /** One cluster by resource ID, pools included; undefined when ARM answers 404. */
  cluster(id: string): Promise<ClusterView | undefined>;
  /** The registry's network, replication and encryption facts. */
  registry(registryResourceId: string): Promise<RegistryNetworkView>;
  /**
   * The role assignments that apply at the registry's scope (assigned there or inherited from above) for these
   * principals, each with its role definition read; principals with none are absent from the map.
   */
  grants(registryResourceId: string, principalIds: readonly string[]): Promise<Map<string, RoleGrantView[]>>;
}

/** Why a node pool cannot stream; each has a fix (lib/consumers/classify.ts). */
export const poolBlockers = [
  'streaming-disabled',
  'kubernetes-version',
  'windows',
  'os-sku',
  'os-guard',
  'arm64',
  'pod-sandboxing',
  'confidential-vm',
  'gen1-vm',
] as const;
export type PoolBlocker = (typeof poolBlockers)[number];

export const poolReasonSchema = z.object({
  code: z.enum(poolBlockers),
  /** In words, with the evidence: "VM size Standard_D4ps_v5 is ARM64". */
  message: z.string(),
  /** The command that fixes it, names filled in. */
  fix: z.string(),
});
export type PoolReason = z.infer<typeof poolReasonSchema>;

export const poolVerdictSchema = z.object({
  name: z.string(),
  mode: z.string().optional(),
  vmSize: z.string().optional(),
  osSku: z.string().optional(),
  kubernetesVersion: z.string().optional(),
  /** Nodes now (`count`; 0 for a stopped pool). */
  nodes: z.number().int(),
  canStream: z.boolean(),
  reasons: z.array(poolReasonSchema),
});
export type PoolVerdict = z.infer<typeof poolVerdictSchema>;

/** `granted`: a role that includes pull; `missing`: none; `unknown`: the assignments could not be read. */
export const pullStates = ['granted', 'missing', 'unknown'] as const;
export type PullState = (typeof pullStates)[number];

/**
 * A cluster's verdict: `streaming` every pool can stream, `partial` some can, `cannot-stream` none can, `no-pull` its
 * kubelet identity holds no role with pull on the registry (so it is not a consumer: it cannot pull at all).
 */
export const clusterStates = ['streaming', 'partial', 'cannot-stream', 'no-pull'] as const;
export type ClusterState = (typeof clusterStates)[number];

export const clusterVerdictSchema = z.object({
  id: z.string(),
  name: z.string(),
  resourceGroup: z.string(),
  subscriptionId: z.string(),
  location: z.string(),
  kubernetesVersion: z.string().optional(),
  state: z.enum(clusterStates),
  pull: z.enum(pullStates),
  /** The roles that grant pull (`AcrPull at /subscriptions/…/registries/x`). */
  pullRoles: z.array(z.string()),
  /**
   * Whether the registry is in, or replicated to, the cluster's region. Advice only: streaming works across regions
   * (lib/consumers/classify.ts), so it does not decide `state`.
   */
  regionServed: z.boolean(),
  pools: z.array(poolVerdictSchema),
  /** The cluster-level problem or advice in words (no pull, pull unknown, no replica nearby), with its fix. */
  reason: z.string().optional(),
  fix: z.string().optional(),
  checkedAt: z.string(),
});
export type ClusterVerdict = z.infer<typeof clusterVerdictSchema>;
