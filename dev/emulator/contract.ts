/**
 * Contract between the emulator's modules (dev/emulator/*). The server core (server.ts) owns listeners,
 * routing, the request log, fault injection and the virtual clock; feature modules (registry, entra, arm,
 * eventgrid) expose route handlers and services typed here, so each can be built and tested on its own.
 *
 * Nothing under dev/ may be imported by functions/ or lib/.
 */

/** A request as a feature module sees it: body fully read, path already split from the query. */
export interface EmulatorRequest {
  readonly method: string;
  /** Decoded path, e.g. `/v2/team-a/app/manifests/latest`. */
  readonly path: string;
  /** The raw (still percent-encoded) path, for routes where encoded slashes matter. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  /** Which listener received it: a registry's HTTPS or plain-HTTP endpoint, or the management endpoint. */
  readonly listener: ListenerInfo;
}

export type ListenerInfo =
  | { readonly kind: 'registry'; readonly registry: string; readonly tls: boolean }
  | { readonly kind: 'management' }
  | { readonly kind: 'control' };

export interface EmulatorResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** An object is sent as JSON (content-type defaults to application/json; charset=utf-8). */
  readonly body?: Buffer | string | object;
}

/** Returns undefined when the route is not this module's, so the core can try the next module. */
export type RouteHandler = (request: EmulatorRequest) => Promise<EmulatorResponse | undefined>;

/** Virtual clock: all emulator time (token expiry, conversion progress, timestamps) reads from it. */
export interface EmulatorClock {
  now(): Date;
  /** Moves virtual time forward; timers scheduled on the clock that fall due fire. */
  advance(milliseconds: number): void;
  /** Schedules on virtual time; with real-time mode on, also fires when wall-clock time reaches it. */
  setTimeout(callback: () => void, milliseconds: number): { cancel(): void };
}

export type RegistrySku = 'Basic' | 'Standard' | 'Premium';

/** What the emulator knows about one registry; ARM, auth and Event Grid all read from this. */
export interface RegistryDefinition {
  /** ARM name, e.g. `sandbox`. */
  readonly name: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly sku: RegistrySku;
  /** Customer-managed-key encryption enabled (streaming refuses such registries). */
  readonly customerManagedKey: boolean;
  readonly anonymousPullEnabled: boolean;
  /** `host:port` of its HTTPS listener, e.g. `localhost:44301`: the ACR login server and token `service`. */
  readonly loginServer: string;
  readonly adminUser: { readonly username: string; readonly password: string } | undefined;
}

export function registryResourceId(
  registry: Pick<RegistryDefinition, 'subscriptionId' | 'resourceGroup' | 'name'>,
): string {
  return `/subscriptions/${registry.subscriptionId}/resourceGroups/${registry.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${registry.name}`;
}

export type ConnectedRegistryConnectionState = 'Online' | 'Offline' | 'Syncing' | 'Unhealthy';

/**
 * Fields as in test/fixtures/reference/arm-connected-registries-list.json, and more (docs/sources.md § ARM connected
 * registries).
 */
export interface ConnectedRegistryDefinition {
  readonly name: string;
  readonly mode: 'ReadWrite' | 'ReadOnly' | 'Registry' | 'Mirror';
  connectionState: ConnectedRegistryConnectionState;
  /** ISO-8601; undefined when never active. */
  lastActivityTime: string | undefined;
  activationStatus: 'Active' | 'Inactive';
  version: string | undefined;
  syncSchedule: string;
  syncWindow: string | undefined;
  syncMessageTtl: string;
  lastSyncTime: string | undefined;
  statusDetails: readonly {
    type: string;
    code: string;
    description: string;
    timestamp: string;
    correlationId: string;
  }[];
  clientTokenIds: readonly string[];
}

/** Registry events the registry module raises and the Event Grid module delivers. */
export interface ManifestEvent {
  readonly action: 'push' | 'delete';
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  /** Manifest size in bytes (push only). */
  readonly size?: number;
  readonly tag?: string;
  readonly userAgent?: string;
  readonly method: 'PUT' | 'DELETE';
}

/** Implemented by the Event Grid module; the registry module calls it after every manifest push/delete. */
export interface EventSink {
  publish(event: ManifestEvent): void;
}

/** Entries of the request log the control API serves (for cost figures and "exactly one POST" assertions). */
export interface RequestLogEntry {
  readonly sequence: number;
  readonly time: string;
  readonly listener: ListenerInfo;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** A fault the core injected instead of (or before) routing, if any. */
  readonly fault?: string;
}
