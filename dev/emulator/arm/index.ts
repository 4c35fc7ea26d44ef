export { ARM_AUDIENCES, createArmHandler } from './arm.js';
export type { ArmHandlerOptions } from './arm.js';
export { createConnectedRegistryStore, seedConnectedRegistries } from './connected-registries.js';
export type { ConnectedRegistryStore, StoredConnectedRegistry } from './connected-registries.js';
export { connectedRegistryResource, registryResource } from './resources.js';
export { CONNECTED_REGISTRIES_CONTROL_BASE, createConnectedRegistryControlHandler } from './control.js';
export { ArmCloud, clusterResourceId, forbiddableOperations } from './cloud.js';
export type { ForbiddableOperation, RegistryNetwork, StoredAgentPool, StoredCluster } from './cloud.js';
export { ARM_CONTROL_BASE, createArmControlHandler } from './cloud-control.js';
export type {
  AgentPoolInput,
  AgentPoolPatch,
  ClusterInput,
  ClusterPatch,
  RegistryNetworkPatch,
  RoleAssignmentInput,
} from './cloud-control.js';
export {
  SANDBOX_AKS_RESOURCE_GROUP,
  SANDBOX_CLUSTERS,
  SANDBOX_CONSUMER_SCOPE,
  SANDBOX_SUBSCRIPTION,
  seedSandboxClusters,
} from './aks-seed.js';
export { BUILT_IN_ROLES } from './roles.js';
