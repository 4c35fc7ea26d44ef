export { ARM_AUDIENCES, createArmHandler } from './arm.js';
export type { ArmHandlerOptions } from './arm.js';
export { createConnectedRegistryStore, seedConnectedRegistries } from './connected-registries.js';
export type { ConnectedRegistryStore, StoredConnectedRegistry } from './connected-registries.js';
export { connectedRegistryResource, registryResource } from './resources.js';
export { CONNECTED_REGISTRIES_CONTROL_BASE, createConnectedRegistryControlHandler } from './control.js';
