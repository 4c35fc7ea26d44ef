/**
 * The emulator's connected registries: a mutable in-memory store the ARM handler reads and the control API
 * mutates (state, lastActivityTime, activation, status details) to stage "stale edge" scenarios.
 */
import type {
  ConnectedRegistryConnectionState,
  ConnectedRegistryDefinition,
  EmulatorClock,
  RegistryDefinition,
} from '../contract.js';

type StatusDetail = ConnectedRegistryDefinition['statusDetails'][number];

/**
 * ConnectedRegistryDefinition plus the ARM properties the contract does not carry (defined here, not in the
 * contract, because only ARM needs them).
 */
export interface StoredConnectedRegistry extends ConnectedRegistryDefinition {
  /** Name of the parent connected registry; undefined when the parent is the cloud registry itself. */
  parentName?: string | undefined;
  notificationsList?: readonly string[] | undefined;
  garbageCollection?: { readonly enabled: boolean; readonly schedule: string } | undefined;
  logging?: { readonly logLevel: string; readonly auditLogStatus: 'Enabled' | 'Disabled' } | undefined;
  /** ISO-8601 creation time (systemData.createdAt). */
  createdAt?: string | undefined;
}

export interface ConnectedRegistryStore {
  readonly clock: EmulatorClock;
  list(registry: string): readonly StoredConnectedRegistry[];
  get(registry: string, name: string): StoredConnectedRegistry | undefined;
  /** Inserts or replaces. */
  put(registry: string, connectedRegistry: StoredConnectedRegistry): StoredConnectedRegistry;
  remove(registry: string, name: string): boolean;
  /** Setters for the control API; each returns the updated record or undefined when it does not exist. */
  setConnectionState(
    registry: string,
    name: string,
    state: ConnectedRegistryConnectionState,
  ): StoredConnectedRegistry | undefined;
  /** `undefined` models "never seen"; a Date/ISO string sets it. */
  setLastActivityTime(
    registry: string,
    name: string,
    time: Date | string | undefined,
  ): StoredConnectedRegistry | undefined;
  setActivation(registry: string, name: string, status: 'Active' | 'Inactive'): StoredConnectedRegistry | undefined;
  setStatusDetails(
    registry: string,
    name: string,
    details: readonly StatusDetail[],
  ): StoredConnectedRegistry | undefined;
  setLastSyncTime(registry: string, name: string, time: Date | string | undefined): StoredConnectedRegistry | undefined;
}

const key = (name: string): string => name.toLowerCase();

export function createConnectedRegistryStore(clock: EmulatorClock): ConnectedRegistryStore {
  // registry name → connected-registry name → record (ARM names are case-insensitive, display keeps the original).
  const byRegistry = new Map<string, Map<string, StoredConnectedRegistry>>();
  const entries = (registry: string): Map<string, StoredConnectedRegistry> => {
    let map = byRegistry.get(key(registry));
    if (!map) {
      map = new Map();
      byRegistry.set(key(registry), map);
    }
    return map;
  };
  const update = (
    registry: string,
    name: string,
    mutate: (record: StoredConnectedRegistry) => void,
  ): StoredConnectedRegistry | undefined => {
    const record = entries(registry).get(key(name));
    if (record) mutate(record);
    return record;
  };
  const iso = (time: Date | string | undefined): string | undefined =>
    time === undefined ? undefined : typeof time === 'string' ? new Date(time).toISOString() : time.toISOString();

  return {
    clock,
    list: (registry) => [...entries(registry).values()].sort((a, b) => a.name.localeCompare(b.name)),
    get: (registry, name) => entries(registry).get(key(name)),
    put: (registry, connectedRegistry) => {
      const record = { createdAt: clock.now().toISOString(), ...connectedRegistry };
      entries(registry).set(key(record.name), record);
      return record;
    },
    remove: (registry, name) => entries(registry).delete(key(name)),
    setConnectionState: (registry, name, state) => update(registry, name, (r) => (r.connectionState = state)),
    setLastActivityTime: (registry, name, time) => update(registry, name, (r) => (r.lastActivityTime = iso(time))),
    setActivation: (registry, name, status) => update(registry, name, (r) => (r.activationStatus = status)),
    setStatusDetails: (registry, name, details) => update(registry, name, (r) => (r.statusDetails = [...details])),
    setLastSyncTime: (registry, name, time) => update(registry, name, (r) => (r.lastSyncTime = iso(time))),
  };
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * Seeds the three connected registries the sandbox scenarios need, relative to the store's clock:
 * - `edgeonline`: Online, Active, activity 2 minutes ago (healthy);
 * - `edgestale`: still reports Online and Active but last activity 3 days ago (the "lying state" case);
 * - `edgenever`: created but never activated — Inactive, Offline, no activity, no version (as in the reference JSON).
 */
export function seedConnectedRegistries(
  store: ConnectedRegistryStore,
  registry: RegistryDefinition,
): readonly StoredConnectedRegistry[] {
  const now = store.clock.now().getTime();
  const at = (offset: number): string => new Date(now - offset).toISOString();
  const tokenId = (name: string): string =>
    `/subscriptions/${registry.subscriptionId}/resourceGroups/${registry.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${registry.name}/tokens/${name}`;
  const common = {
    syncSchedule: '* * * * *',
    syncMessageTtl: 'P2D',
    syncWindow: undefined,
    clientTokenIds: [] as string[],
    logging: { logLevel: 'Information', auditLogStatus: 'Disabled' as const },
  };
  return [
    store.put(registry.name, {
      ...common,
      name: 'edgeonline',
      mode: 'ReadOnly',
      connectionState: 'Online',
      lastActivityTime: at(2 * MINUTE),
      activationStatus: 'Active',
      version: '0.11.0',
      lastSyncTime: at(MINUTE),
      statusDetails: [],
      clientTokenIds: [tokenId('edgeonline-client')],
      notificationsList: ['*:*'],
      garbageCollection: { enabled: true, schedule: '0 5 * * *' },
      createdAt: at(30 * DAY),
    }),
    store.put(registry.name, {
      ...common,
      name: 'edgestale',
      mode: 'ReadWrite',
      connectionState: 'Online',
      lastActivityTime: at(3 * DAY),
      activationStatus: 'Active',
      version: '0.10.0',
      syncSchedule: '0 9 * * *',
      syncWindow: 'PT3H',
      lastSyncTime: at(3 * DAY),
      statusDetails: [],
      garbageCollection: { enabled: true, schedule: '0 5 * * *' },
      createdAt: at(60 * DAY),
    }),
    store.put(registry.name, {
      ...common,
      name: 'edgenever',
      mode: 'ReadOnly',
      connectionState: 'Offline',
      lastActivityTime: undefined,
      activationStatus: 'Inactive',
      version: undefined,
      lastSyncTime: undefined,
      statusDetails: [],
      createdAt: at(DAY),
    }),
  ];
}
