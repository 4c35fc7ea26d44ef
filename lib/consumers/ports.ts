import type { Versioned } from '../core/image.js';
import type { PullState } from './model.js';

/**
 * What the consumer audit remembers of one cluster against one registry: enough to tell a transition from a state
 * that holds (lib/consumers/audit.ts).
 */
export interface ConsumerState {
  readonly registry: string;
  /** The cluster's ARM resource ID, as ARM spelled it when last seen. */
  readonly clusterId: string;
  readonly clusterName: string;
  /** The last known pull state: `unknown` only while it was never known (ARM not answering changes nothing). */
  readonly pull: PullState;
  /** Whether each node pool could stream, by pool name. */
  readonly pools: Readonly<Record<string, boolean>>;
  /**
   * The loss alerts raised and not yet recovered: `pull`, `pool:{name}`. A recovery alert closes exactly these, so
   * nobody is told a pool "recovered" that nobody was told had failed.
   */
  readonly open: readonly string[];
  /** When the state last changed: with the registry and cluster, it names a transition (deterministic event ids). */
  readonly since: string;
}

/**
 * Consumer states per (registry, cluster) (lib/storage/consumer-store.ts implements it in `{prefix}Consumers`).
 * Writes are ETag-conditional: `save` creates when given no ETag and replaces on the ETag; false when another
 * instance wrote first, so the caller re-reads and decides again.
 */
export interface ConsumerStore {
  /** Every cluster state of a registry, keyed by {@link consumerKey} of the cluster ID. */
  states(registry: string): Promise<Map<string, Versioned<ConsumerState>>>;
  state(registry: string, clusterId: string): Promise<Versioned<ConsumerState> | undefined>;
  save(state: ConsumerState, etag: string | undefined): Promise<boolean>;
  /** Deletes a state on its ETag; false when it changed (or went) meanwhile. */
  remove(registry: string, clusterId: string, etag: string): Promise<boolean>;
}

/**
 * A cluster's resource ID as a key: lower case and without `/`, which Table keys and event ids may not contain.
 * `/subscriptions/S/resourceGroups/G/providers/Microsoft.ContainerService/managedClusters/N` becomes
 * `subscriptions:s:resourcegroups:g:…:n`. Lower case because resource and resource group names are case-insensitive
 * and APIs may return them in another case than they were created with ("always perform a case-insensitive
 * comparison of names": Microsoft Learn, "Naming rules and restrictions for Azure resources"). The other characters
 * Table keys forbid (`\`, `#`, `?`, control characters) are in no AKS cluster's or resource group's name (same page),
 * but are percent-escaped should one appear.
 */
export function consumerKey(clusterId: string): string {
  return clusterId
    .toLowerCase()
    .replace(/^\/+/, '')
    .replaceAll('/', ':')
    .replace(/[\\#?%]/g, escapeKeyChar)
    .replace(/\p{Cc}/gu, escapeKeyChar);
}

function escapeKeyChar(char: string): string {
  return `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
