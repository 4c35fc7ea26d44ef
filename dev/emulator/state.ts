import type { EventSink, RegistryDefinition, RegistrySku } from './contract.js';
import type { VirtualClock } from './clock.js';
import type { FaultInjector } from './faults.js';
import type { RequestLog } from './request-log.js';
import type { RegistryPermissions, RoleAssignment } from './registry/permissions.js';
import type { RegistryRateLimiter } from './rate-limit.js';
import type { RegistryStore } from './registry/store.js';
import type { StreamingService } from './registry/streaming-service.js';

/** A registry definition the emulator may change at runtime (SKU, CMK, anonymous pull via control or ARM). */
export type MutableRegistryDefinition = { -readonly [K in keyof RegistryDefinition]: RegistryDefinition[K] };

export interface RegistryEndpoints {
  /** `localhost:<port>` of the HTTPS listener (= definition.loginServer). */
  readonly loginServer: string;
  readonly httpsUrl: string;
  /** `127.0.0.1:<port>` of the plain-HTTP listener serving the same registry. */
  readonly pushAddress: string;
}

export interface RegistryRuntime {
  readonly definition: MutableRegistryDefinition;
  readonly endpoints: RegistryEndpoints;
  readonly store: RegistryStore;
  readonly streaming: StreamingService;
  /** Role-assignment mode and role assignments (friendly by default: see registry/permissions.ts). */
  readonly permissions: RegistryPermissions;
  /** Hostile mode, off by default: 429 beyond a request rate. */
  readonly rateLimiter: RegistryRateLimiter;
}

/** Everything the emulator holds; feature modules (ARM, Event Grid, control) read and change it here. */
export class EmulatorState {
  readonly registries = new Map<string, RegistryRuntime>();
  /**
   * Role assignments made above a registry (resource group, subscription) for an identity, which its data plane
   * honours as inherited; the ARM module replaces it with its own store (arm/cloud.ts). None by default.
   */
  inheritedAssignments: (registry: RegistryDefinition, principalId: string) => readonly RoleAssignment[] = () => [];

  constructor(
    readonly clock: VirtualClock,
    readonly faults: FaultInjector,
    readonly requestLog: RequestLog,
    /** Swappable so the Event Grid module can be attached after start. */
    public eventSink: EventSink,
  ) {}

  definitions(): RegistryDefinition[] {
    return [...this.registries.values()].map((r) => r.definition);
  }

  registry(name: string): RegistryRuntime | undefined {
    return this.registries.get(name);
  }

  /** Finds a registry by the login server its token `service`/`aud` names. */
  byLoginServer(loginServer: string): RegistryRuntime | undefined {
    return [...this.registries.values()].find((r) => r.definition.loginServer === loginServer);
  }
}

export const skus: readonly RegistrySku[] = ['Basic', 'Standard', 'Premium'];
