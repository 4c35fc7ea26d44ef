import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from './clock.js';
import type { EventSink, ListenerInfo, RegistrySku, RouteHandler } from './contract.js';
import { controlHandler } from './control.js';
import { FaultInjector } from './faults.js';
import { requestListener } from './http.js';
import { RegistryPermissions } from './registry/permissions.js';
import { acceptAnyAccessToken, type AccessTokenVerifier, type AuthOptions } from './registry/auth.js';
import { registryHandler } from './registry/index.js';
import { RegistryStore } from './registry/store.js';
import { StreamingService } from './registry/streaming-service.js';
import { RequestLog } from './request-log.js';
import { RegistryRateLimiter } from './rate-limit.js';
import { EmulatorState, type MutableRegistryDefinition, type RegistryRuntime } from './state.js';
import { ensureCertificateAuthority, issueServerCertificate } from './tls.js';

export interface RegistryOptions {
  readonly name: string;
  readonly sku?: RegistrySku;
  readonly customerManagedKey?: boolean;
  readonly anonymousPullEnabled?: boolean;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly location?: string;
  /** Admin user credentials; defaults to username = registry name and a random password. `null` disables it. */
  readonly adminUser?: { readonly username: string; readonly password: string } | null;
  readonly httpsPort?: number;
  readonly httpPort?: number;
}

/** What injected management modules (ARM, Entra) get to build their handlers. */
export interface EmulatorContext {
  readonly state: EmulatorState;
  readonly clock: VirtualClock;
  /** `https://localhost:<port>` of the management listener (the Entra issuer, the ARM endpoint). */
  readonly managementUrl: string;
  readonly caFile: string;
  addRegistry(options: RegistryOptions): Promise<StartedRegistry>;
}

export interface EmulatorOptions {
  /** Where the CA lives (created when absent, reused when present). Default: `$TMPDIR/acr-emulator-ca`. */
  readonly certDir?: string;
  readonly registries?: readonly RegistryOptions[];
  readonly managementPort?: number;
  readonly controlPort?: number;
  /** ARM and Entra handlers for the management listener, tried in order. */
  readonly management?: readonly RouteHandler[] | ((context: EmulatorContext) => readonly RouteHandler[]);
  /** Receives every manifest push/delete (the Event Grid module). Default: drops events. */
  readonly eventSink?: EventSink;
  /**
   * Approves AAD tokens at `/oauth2/exchange` (the Entra module's `verifyAccessToken`). Default: any non-empty token.
   */
  readonly verifyAccessToken?: AccessTokenVerifier;
  readonly clock?: { readonly start?: Date; readonly realTime?: boolean };
  /** Request log entries kept (newest); benchmarks that count every request of a large run raise it. Default 50,000. */
  readonly requestLogCapacity?: number;
}

export interface StartedRegistry {
  readonly name: string;
  readonly loginServer: string;
  readonly httpsUrl: string;
  /** `host:port` of the plain-HTTP listener, for `skopeo --dest-tls-verify=false`. */
  readonly pushAddress: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly caFile: string;
}

export interface Emulator {
  /** Live list: registries added later through the control API or ARM appear here too. */
  readonly registries: readonly StartedRegistry[];
  registry(name: string): StartedRegistry;
  readonly managementUrl: string;
  readonly controlUrl: string;
  readonly caFile: string;
  readonly clock: VirtualClock;
  readonly state: EmulatorState;
  addRegistry(options: RegistryOptions): Promise<StartedRegistry>;
  /** Replaces the EventSink (e.g. once the Event Grid module is ready). */
  setEventSink(sink: EventSink): void;
  /** Adds control-API handlers (Event Grid, connected registries), tried before the core's own. */
  mountControl(...handlers: RouteHandler[]): void;
  close(): Promise<void>;
}

const dropEvents: EventSink = { publish: () => undefined };

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only: the emulator accepts admin credentials and injected faults from anyone who can reach it.
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Starts the ACR emulator: per registry an HTTPS and a plain-HTTP listener, a management and a control listener. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const ca = await ensureCertificateAuthority(options.certDir ?? join(tmpdir(), 'acr-emulator-ca'));
  const tls = issueServerCertificate(ca);
  const clock = new VirtualClock(options.clock);
  const state = new EmulatorState(
    clock,
    new FaultInjector(),
    new RequestLog(options.requestLogCapacity),
    options.eventSink ?? dropEvents,
  );
  const auth: AuthOptions = {
    secret: randomBytes(32),
    clock,
    verifyAccessToken: options.verifyAccessToken ?? acceptAnyAccessToken,
  };
  const registryRoutes = [registryHandler(state, auth)];
  const servers: Server[] = [];
  const started = new Map<string, StartedRegistry>();

  const httpsServer = (listener: ListenerInfo, handlers: () => readonly RouteHandler[]): Server => {
    const server = createHttpsServer(
      { key: tls.keyPem, cert: tls.certPem },
      requestListener(listener, handlers, state),
    );
    servers.push(server);
    return server;
  };
  const httpServer = (listener: ListenerInfo, handlers: () => readonly RouteHandler[]): Server => {
    const server = createHttpServer(requestListener(listener, handlers, state));
    servers.push(server);
    return server;
  };

  const addRegistry = async (registry: RegistryOptions): Promise<StartedRegistry> => {
    if (state.registries.has(registry.name)) throw new Error(`registry ${registry.name} already exists`);
    const httpsPort = await listen(
      httpsServer({ kind: 'registry', registry: registry.name, tls: true }, () => registryRoutes),
      registry.httpsPort ?? 0,
    );
    const httpPort = await listen(
      httpServer({ kind: 'registry', registry: registry.name, tls: false }, () => registryRoutes),
      registry.httpPort ?? 0,
    );
    const loginServer = `localhost:${httpsPort}`;
    const adminUser =
      registry.adminUser === null
        ? undefined
        : (registry.adminUser ?? { username: registry.name, password: randomBytes(18).toString('base64url') });
    const definition: MutableRegistryDefinition = {
      name: registry.name,
      subscriptionId: registry.subscriptionId ?? '00000000-0000-0000-0000-000000000001',
      resourceGroup: registry.resourceGroup ?? 'emulator-rg',
      location: registry.location ?? 'westeurope',
      sku: registry.sku ?? 'Premium',
      customerManagedKey: registry.customerManagedKey ?? false,
      anonymousPullEnabled: registry.anonymousPullEnabled ?? false,
      loginServer,
      adminUser,
    };
    const store = new RegistryStore(registry.name, clock, () => state.eventSink);
    const runtime: RegistryRuntime = {
      definition,
      endpoints: { loginServer, httpsUrl: `https://${loginServer}`, pushAddress: `127.0.0.1:${httpPort}` },
      store,
      streaming: new StreamingService(definition, store, clock),
      permissions: new RegistryPermissions((principalId) => state.inheritedAssignments(definition, principalId)),
      rateLimiter: new RegistryRateLimiter(),
    };
    state.registries.set(registry.name, runtime);
    const result: StartedRegistry = {
      name: registry.name,
      loginServer,
      httpsUrl: runtime.endpoints.httpsUrl,
      pushAddress: runtime.endpoints.pushAddress,
      username: adminUser?.username,
      password: adminUser?.password,
      caFile: ca.caFile,
    };
    started.set(registry.name, result);
    return result;
  };

  let managementHandlers: readonly RouteHandler[] = [];
  const managementPort = await listen(
    httpsServer({ kind: 'management' }, () => managementHandlers),
    options.managementPort ?? 0,
  );
  const managementUrl = `https://localhost:${managementPort}`;
  const context: EmulatorContext = { state, clock, managementUrl, caFile: ca.caFile, addRegistry };
  managementHandlers =
    typeof options.management === 'function' ? options.management(context) : (options.management ?? []);

  let controlRoutes: readonly RouteHandler[] = [
    controlHandler({ state, clock, addRegistry, describe: (name) => started.get(name) }),
  ];
  const controlPort = await listen(
    httpServer({ kind: 'control' }, () => controlRoutes),
    options.controlPort ?? 0,
  );

  for (const registry of options.registries ?? []) await addRegistry(registry);

  return {
    get registries() {
      return [...started.values()];
    },
    registry(name) {
      const found = started.get(name);
      if (!found) throw new Error(`no registry ${name}`);
      return found;
    },
    managementUrl,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    caFile: ca.caFile,
    clock,
    state,
    addRegistry,
    setEventSink(sink) {
      state.eventSink = sink;
    },
    mountControl(...handlers) {
      controlRoutes = [...handlers, ...controlRoutes];
    },
    async close() {
      clock.dispose();
      await Promise.all(servers.map(closeServer));
    },
  };
}
