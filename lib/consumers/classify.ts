import type {
  AgentPoolView,
  ClusterVerdict,
  ClusterView,
  PoolReason,
  PoolVerdict,
  PullState,
  RegistryNetworkView,
  RoleGrantView,
} from './model.js';

/**
 * Whether each node pool of a cluster can stream from a registry, and why not, with the fix (issue #20 §1).
 *
 * The requirements, and where they come from:
 * - artifact streaming enabled on the node pool (`artifactStreamingProfile.enabled`, default false: the AgentPool
 *   REST model, @azure/arm-containerservice 25 models.d.ts `AgentPoolArtifactStreamingProfile`);
 * - Kubernetes 1.26 or later; Ubuntu 20.04+ or Azure Linux, not OS Guard; AMD64 only; not pod sandboxing, not
 *   confidential VMs, not Generation 1 VMs (the AKS integration notes, ../shared/seeds/003; Microsoft Learn
 *   "Artifact streaming" preview limitations, ../shared/seeds/004);
 * The registry in, or replicated to, the cluster's region is advice, not a requirement: "Artifact streaming can work
 * across regions, regardless of whether geo-replication is started or not" (Microsoft Learn "Artifact streaming",
 * ../shared/seeds/004; the AKS "Artifact Streaming overview" lists streaming "to AKS clusters in different regions"
 * as a use). A cluster without a nearby replica streams across regions; the verdict says so, with the replication
 * that makes its pulls local (the integration notes' "use the same region for best performance").
 * How a pool's VM size reveals ARM64, confidential computing and the VM generation is an assumption (A20–A22).
 */

/** The AcrPull action (Microsoft Learn, "Azure built-in roles for Containers", AcrPull). */
const PULL_ACTION = 'Microsoft.ContainerRegistry/registries/pull/read';
/** The data action of the repository roles that registries in ABAC mode honour instead (ACR roles reference). */
const ABAC_PULL_DATA_ACTION = 'Microsoft.ContainerRegistry/registries/repositories/content/read';

const MIN_KUBERNETES: readonly [number, number] = [1, 26];

/** Azure RBAC permission patterns: `*` matches any characters, comparison ignores case. */
function permissionMatches(pattern: string, operation: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(operation);
}

function allows(granted: readonly string[], denied: readonly string[], operation: string): boolean {
  return (
    granted.some((pattern) => permissionMatches(pattern, operation)) &&
    !denied.some((pattern) => permissionMatches(pattern, operation))
  );
}

/**
 * Whether a role assignment lets its principal pull. In the default mode (`LegacyRegistryPermissions`) ACR reads the
 * control-plane action `registries/pull/read`, which AcrPull, AcrPush, Reader (`*\/read`), Contributor and Owner
 * (`*`) include; in `AbacRepositoryPermissions` mode only the data action of the Container Registry Repository roles
 * counts (Microsoft Learn, "Azure Container Registry roles directory reference"; the emulator's
 * dev/emulator/registry/permissions.ts models the same table).
 */
export function grantIncludesPull(grant: RoleGrantView, roleAssignmentMode: string | undefined): boolean {
  if (roleAssignmentMode === 'AbacRepositoryPermissions')
    return allows(grant.dataActions, grant.notDataActions, ABAC_PULL_DATA_ACTION);
  return allows(grant.actions, grant.notActions, PULL_ACTION);
}

function parseVersion(version: string | undefined): [number, number] | undefined {
  const match = version ? /^v?(\d+)\.(\d+)/.exec(version) : null;
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function atLeast(version: [number, number], minimum: readonly [number, number]): boolean {
  return version[0] > minimum[0] || (version[0] === minimum[0] && version[1] >= minimum[1]);
}

/** Azure region names as ARM writes them (`eastus`) or as people do (`East US`). */
export function sameRegion(a: string, b: string): boolean {
  const normal = (value: string): string => value.toLowerCase().replace(/[\s_-]/g, '');
  return normal(a) === normal(b);
}

/**
 * VM sizes name their features with lower-case letters after the vCPU count (`Standard_D4ps_v5`): `p` is an Arm-based
 * processor (Microsoft Learn, "Azure virtual machine sizes naming conventions"). Assumption A20: a size without `p`
 * is AMD64.
 */
export function isArm64VmSize(vmSize: string): boolean {
  const features = /^Standard_[A-Z]+\d+(?:-\d+)?([a-z]*)_/i.exec(vmSize)?.[1];
  return features !== undefined && /^[a-z]*$/.test(features) && features.includes('p');
}

/**
 * Confidential VMs are the DC and EC families with `a` (AMD SEV-SNP) or `e` (Intel TDX) in their features, v5 and
 * later (`Standard_DC4as_v5`, `Standard_EC8eds_v5`; Microsoft Learn, "DCasv5 and ECasv5 series confidential VMs").
 * Assumption A21: no other size is a confidential VM.
 */
export function isConfidentialVmSize(vmSize: string): boolean {
  const match = /^Standard_(DC|EC)\d+(?:-\d+)?([a-z]*)_v(\d+)$/.exec(vmSize);
  if (!match) return false;
  const features = match[2] ?? '';
  return Number(match[3]) >= 5 && (features.includes('a') || features.includes('e'));
}

/**
 * AKS names its Linux node images with `gen2` for Generation 2 VMs (`AKSUbuntu-2204gen2containerd-202511.07.0`,
 * `AKSAzureLinux-V2gen2-…`) and without it for Generation 1 (`AKSUbuntu-2204containerd-…`). Assumption A22; an
 * unknown image version is not held against the pool.
 */
export function isGen1NodeImage(nodeImageVersion: string | undefined): boolean {
  return nodeImageVersion !== undefined && nodeImageVersion.length > 0 && !/gen2/i.test(nodeImageVersion);
}

/** A VM size like this one without the Arm or confidential feature (`Standard_D4ps_v5` → `Standard_D4s_v5`). */
export function amd64Equivalent(vmSize: string | undefined): string {
  const match = vmSize ? /^Standard_([A-Z]+)(\d+(?:-\d+)?)([a-z]*)_(v\d+)$/.exec(vmSize) : null;
  if (!match) return 'Standard_D4s_v5';
  const family = (match[1] ?? 'D').replace(/^(D|E)C$/, '$1');
  const features = (match[3] ?? '').replace(/p/g, '');
  return `Standard_${family}${match[2]}${features}_${match[4]}`;
}

/** A name for the replacement pool: AKS Linux pool names are lower-case letters and digits, at most 12. */
function replacementPoolName(pool: string): string {
  return `${pool
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 10)}as`;
}

export interface PoolContext {
  readonly cluster: Pick<ClusterView, 'name' | 'resourceGroup' | 'kubernetesVersion' | 'location'>;
  /** The registry's ARM name, for `az acr` commands. */
  readonly registryName: string;
}

/** The reasons a pool cannot stream, in the order a reader fixes them; none when it can. */
export function poolReasons(pool: AgentPoolView, context: PoolContext): PoolReason[] {
  const { cluster } = context;
  const names = `--resource-group ${cluster.resourceGroup} --cluster-name ${cluster.name}`;
  const newPool = (options: string): string =>
    `az aks nodepool add ${names} --name ${replacementPoolName(pool.name)} ${options} --enable-artifact-streaming` +
    ` (then move the workloads off ${pool.name}: kubectl cordon and drain its nodes)`;
  const vmSize = pool.vmSize ?? '';
  const reasons: PoolReason[] = [];
  // Reasons only a new pool can fix: switching streaming on would not help, so it is not reported beside them.
  const hard: PoolReason[] = [];
  const windows = pool.osType?.toLowerCase() === 'windows' || /^windows/i.test(pool.osSku ?? '');
  if (windows) {
    hard.push({
      code: 'windows',
      message: `a Windows pool (${pool.osSku ?? 'Windows'}): artifact streaming supports Linux nodes only`,
      fix: newPool(`--os-type Linux --os-sku AzureLinux --node-vm-size ${amd64Equivalent(vmSize)}`),
    });
  } else if (/osguard/i.test(pool.osSku ?? '')) {
    hard.push({
      code: 'os-guard',
      message: `OS SKU ${pool.osSku}: Azure Linux with OS Guard does not support artifact streaming`,
      fix: newPool(`--os-sku AzureLinux --node-vm-size ${amd64Equivalent(vmSize)}`),
    });
  } else if (pool.osSku !== undefined && !/^(ubuntu|azurelinux|cblmariner)/i.test(pool.osSku)) {
    hard.push({
      code: 'os-sku',
      message: `OS SKU ${pool.osSku}: artifact streaming supports Ubuntu 20.04 or later and Azure Linux`,
      fix: newPool(`--os-sku AzureLinux --node-vm-size ${amd64Equivalent(vmSize)}`),
    });
  }
  if (isArm64VmSize(vmSize))
    hard.push({
      code: 'arm64',
      message: `VM size ${vmSize} is ARM64: artifact streaming supports AMD64 nodes only`,
      fix: newPool(`--node-vm-size ${amd64Equivalent(vmSize)}`),
    });
  if (isConfidentialVmSize(vmSize))
    hard.push({
      code: 'confidential-vm',
      message: `VM size ${vmSize} is a confidential VM, which artifact streaming does not support`,
      fix: newPool(`--node-vm-size ${amd64Equivalent(vmSize)}`),
    });
  if (/^kata/i.test(pool.workloadRuntime ?? ''))
    hard.push({
      code: 'pod-sandboxing',
      message: `workload runtime ${pool.workloadRuntime} (pod sandboxing) does not support artifact streaming`,
      fix: newPool(`--node-vm-size ${vmSize || amd64Equivalent(undefined)}`),
    });
  if (!windows && isGen1NodeImage(pool.nodeImageVersion))
    hard.push({
      code: 'gen1-vm',
      message: `node image ${pool.nodeImageVersion} is for Generation 1 VMs, which artifact streaming does not support`,
      fix: newPool(`--node-vm-size ${amd64Equivalent(vmSize)} (a size that supports Generation 2)`),
    });
  reasons.push(...hard);
  if (windows) return reasons;

  const version = parseVersion(pool.kubernetesVersion ?? cluster.kubernetesVersion);
  if (version && !atLeast(version, MIN_KUBERNETES)) {
    const controlPlane = parseVersion(cluster.kubernetesVersion);
    const clusterNames = `--resource-group ${cluster.resourceGroup} --name ${cluster.name}`;
    const upgradeControlPlane =
      controlPlane && !atLeast(controlPlane, MIN_KUBERNETES)
        ? `az aks get-upgrades ${clusterNames}; az aks upgrade ${clusterNames} --kubernetes-version <1.26 or later>; `
        : '';
    const target =
      controlPlane && atLeast(controlPlane, MIN_KUBERNETES) ? cluster.kubernetesVersion : '<1.26 or later>';
    reasons.push({
      code: 'kubernetes-version',
      message: `Kubernetes ${pool.kubernetesVersion ?? cluster.kubernetesVersion}: artifact streaming needs 1.26 or later`,
      fix: `${upgradeControlPlane}az aks nodepool upgrade ${names} --name ${pool.name} --kubernetes-version ${target}`,
    });
  }
  if (hard.length === 0 && pool.artifactStreamingEnabled !== true)
    reasons.push({
      code: 'streaming-disabled',
      message: 'artifact streaming is not enabled on this node pool',
      fix: `az aks nodepool update ${names} --name ${pool.name} --enable-artifact-streaming`,
    });
  return reasons;
}

export function classifyPool(pool: AgentPoolView, context: PoolContext): PoolVerdict {
  const reasons = poolReasons(pool, context);
  const stopped = pool.powerState?.toLowerCase() === 'stopped';
  return {
    name: pool.name,
    ...(pool.mode ? { mode: pool.mode } : {}),
    ...(pool.vmSize ? { vmSize: pool.vmSize } : {}),
    ...(pool.osSku ? { osSku: pool.osSku } : {}),
    ...((pool.kubernetesVersion ?? context.cluster.kubernetesVersion)
      ? { kubernetesVersion: pool.kubernetesVersion ?? context.cluster.kubernetesVersion }
      : {}),
    nodes: stopped ? 0 : Math.max(0, pool.count ?? 0),
    canStream: reasons.length === 0,
    reasons,
  };
}

export interface ClusterClassification {
  readonly cluster: ClusterView;
  readonly registry: RegistryNetworkView;
  /** The registry's ARM name, for `az` commands. */
  readonly registryName: string;
  /** The kubelet identity's grants on the registry; undefined when ARM would not say (no Reader, an error). */
  readonly grants: readonly RoleGrantView[] | undefined;
  readonly now: Date;
}

/** The roles among the grants that include pull, in words (`AcrPull at /subscriptions/…`). */
export function pullRoles(grants: readonly RoleGrantView[], roleAssignmentMode: string | undefined): string[] {
  return grants
    .filter((grant) => grantIncludesPull(grant, roleAssignmentMode))
    .map((grant) => `${grant.roleName} at ${grant.scope}${grant.condition ? ' (with a condition)' : ''}`);
}

export function regionServed(registry: RegistryNetworkView, location: string): boolean {
  return sameRegion(registry.location, location) || registry.replicaLocations.some((l) => sameRegion(l, location));
}

/** A cluster's verdict against one registry. */
export function classifyCluster(input: ClusterClassification): ClusterVerdict {
  const { cluster, registry } = input;
  const roles = input.grants === undefined ? [] : pullRoles(input.grants, registry.roleAssignmentMode);
  const pull: PullState =
    input.grants === undefined || cluster.kubeletIdentity?.objectId === undefined
      ? 'unknown'
      : roles.length > 0
        ? 'granted'
        : 'missing';
  const served = regionServed(registry, cluster.location);
  const context: PoolContext = { cluster, registryName: input.registryName };
  const pools = cluster.pools.map((pool) => classifyPool(pool, context));
  const capable = pools.filter((pool) => pool.canStream).length;
  const state =
    pull === 'missing'
      ? 'no-pull'
      : capable === pools.length && pools.length > 0
        ? 'streaming'
        : capable > 0
          ? 'partial'
          : 'cannot-stream';
  const clusterNames = `--resource-group ${cluster.resourceGroup} --name ${cluster.name}`;
  const problem =
    pull === 'missing'
      ? {
          reason: `the kubelet identity (${cluster.kubeletIdentity?.objectId}) holds no role with pull on ${registry.name}`,
          fix: `az aks update ${clusterNames} --attach-acr ${registry.id}`,
        }
      : pull === 'unknown'
        ? {
            reason:
              cluster.kubeletIdentity?.objectId === undefined
                ? 'the cluster has no kubelet managed identity (a service principal pulls): its roles were not read'
                : `the role assignments on ${registry.name} could not be read: grant this app Reader on the registry`,
            fix: `az aks check-acr ${clusterNames} --acr ${registry.name}.azurecr.io`,
          }
        : !served
          ? {
              reason:
                `${registry.name} is in ${registry.location} with no replica in ${cluster.location}: the nodes stream ` +
                'across regions, slower than from a replica in their own',
              fix: `az acr replication create --registry ${input.registryName} --location ${cluster.location}`,
            }
          : undefined;
  return {
    id: cluster.id,
    name: cluster.name,
    resourceGroup: cluster.resourceGroup,
    subscriptionId: cluster.subscriptionId,
    location: cluster.location,
    ...(cluster.kubernetesVersion ? { kubernetesVersion: cluster.kubernetesVersion } : {}),
    state,
    pull,
    pullRoles: roles,
    regionServed: served,
    pools,
    ...(problem ?? {}),
    checkedAt: input.now.toISOString(),
  };
}

/** Nodes in pools that can stream against all nodes, over clusters that pull from the registry (the report chart). */
export function streamingCapacity(verdicts: readonly ClusterVerdict[]): { nodes: number; streamingNodes: number } {
  let nodes = 0;
  let streamingNodes = 0;
  for (const verdict of verdicts) {
    if (verdict.pull === 'missing') continue;
    for (const pool of verdict.pools) {
      nodes += pool.nodes;
      if (pool.canStream) streamingNodes += pool.nodes;
    }
  }
  return { nodes, streamingNodes };
}
