import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARM_AUDIENCES,
  ArmCloud,
  createArmControlHandler,
  createArmHandler,
  SANDBOX_CONSUMER_SCOPE,
  seedSandboxClusters,
  createConnectedRegistryControlHandler,
  createConnectedRegistryStore,
  seedConnectedRegistries,
  type ConnectedRegistryStore,
} from './arm/index.js';
import type { RegistryDefinition } from './contract.js';
import { EmulatorControlClient } from './control-client.js';
import {
  acrExchangeVerifier,
  createEntra,
  startDiscoveryTunnel,
  type DiscoveryTunnel,
  type Entra,
} from './entra/index.js';
import { createEventGridControlHandler, createEventGridEngine } from './eventgrid/index.js';
import { createEventGridArmHandler } from './eventgrid/arm.js';
import { createInbox, createSandboxAlertChannels, type Inbox } from './inbox/index.js';
import type { EventGridEngine } from './eventgrid/types.js';
import { seedSandbox } from './seed.js';
import { startEmulator, type Emulator, type RegistryOptions, type StartedRegistry } from './server.js';

export interface SandboxEmulatorOptions {
  /** Folder for the CA (reused across runs) and Event Grid dead letters. */
  readonly directory: string;
  readonly registries?: readonly RegistryOptions[];
  /** Seed the `sandbox` registry's repositories, images and connected registries. */
  readonly seed?: boolean;
  /** Compresses Event Grid's retry schedule (0.001 turns 10 s into 10 ms). */
  readonly eventGridTimeScale?: number;
  /** Event Grid deliveries in flight per subscription (default 1). */
  readonly eventGridConcurrency?: number;
  /** Conversion and token timing follow wall-clock time (the sandbox) rather than only `clock.advance` (tests). */
  readonly realTime?: boolean;
  readonly controlPort?: number;
}

export interface SandboxEmulator {
  readonly emulator: Emulator;
  readonly control: EmulatorControlClient;
  readonly entra: Entra;
  readonly eventGrid: EventGridEngine;
  readonly connectedRegistries: ConnectedRegistryStore;
  /** ARM beyond registries: AKS clusters, role assignments above registries, network, hostile switches. */
  readonly arm: ArmCloud;
  readonly tunnel: DiscoveryTunnel;
  /**
   * Alert receivers (signed webhook + Teams stand-in) with their control routes under `/inbox` on the control listener.
   */
  readonly inbox: Inbox;
  /** The app registration the product signs in as (client-credentials flow). */
  readonly appClient: { readonly tenantId: string; readonly clientId: string; readonly clientSecret: string };
  /** App settings that point unmodified product code at this emulator. */
  appSettings(): Record<string, string>;
  /**
   * Pushes the standard seed (its push events go to whoever subscribed) and adds its connected registries and the AKS
   * clusters that pull from it (arm/aks-seed.ts, SANDBOX_CLUSTERS).
   */
  seed(): Promise<void>;
  close(): Promise<void>;
}

const tenantId = '00000000-0000-0000-0000-0000000000aa';

/**
 * The whole emulated cloud side — ACR registries, Entra ID, ARM, Event Grid — composed as `npm start` and the
 * end-to-end tests run it. The product reaches it only through app settings ({@link SandboxEmulator.appSettings}).
 */
export async function startSandboxEmulator(options: SandboxEmulatorOptions): Promise<SandboxEmulator> {
  const appClient = { tenantId, clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') };
  // Both are built with the emulator's clock, inside the management callback that startEmulator calls.
  let entra: Entra | undefined;
  const late: { eventGrid?: EventGridEngine } = {};
  let connectedRegistries: ConnectedRegistryStore | undefined;
  let cloud: ArmCloud | undefined;
  let inbox: Inbox | undefined;
  let alertSettings: Record<string, string> = {};
  const definitions = (emulator: Emulator): RegistryDefinition[] =>
    [...emulator.state.registries.values()].map((runtime) => runtime.definition);

  const emulator = await startEmulator({
    certDir: join(options.directory, 'ca'),
    registries: options.registries ?? [{ name: 'sandbox', sku: 'Premium' }],
    clock: { realTime: options.realTime ?? true },
    ...(options.controlPort === undefined ? {} : { controlPort: options.controlPort }),
    management: (context) => {
      entra = createEntra({ clock: context.clock, tenantId, clients: [appClient] });
      connectedRegistries = createConnectedRegistryStore(context.clock);
      const armCloud = new ArmCloud(context.clock);
      cloud = armCloud;
      // Assignments made above a registry in ARM are honoured by its data plane, as Azure RBAC inherits them.
      context.state.inheritedAssignments = (registry, principalId) => armCloud.inherited(registry, principalId);
      const arm = createArmHandler({
        // ARM shows the mode the emulator reads role assignments in (PUT …/permissions), as ACR's own property does.
        registries: () =>
          [...context.state.registries.values()].map((runtime) => ({
            ...runtime.definition,
            roleAssignmentMode: runtime.permissions.mode,
          })),
        connectedRegistries,
        verifyAccessToken: (token, audience) => entra!.verifyAccessToken(token, audience),
        tenantId,
        extraAudiences: [context.managementUrl],
        cloud: armCloud,
        permissions: (name) => context.state.registry(name)?.permissions,
      });
      inbox = createInbox({
        managementUrl: context.managementUrl,
        now: () => context.clock.now(),
        faults: context.state.faults,
      });
      alertSettings = createSandboxAlertChannels(inbox.store);
      const eventGridArm = createEventGridArmHandler({
        registries: () => [...context.state.registries.values()].map((runtime) => runtime.definition),
        engine: () => late.eventGrid,
        authenticate: (request) => {
          const token = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
          const verified = token
            ? entra!.verifyAccessToken(token, [...ARM_AUDIENCES, context.managementUrl])
            : undefined;
          return verified?.ok
            ? undefined
            : {
                status: 401,
                body: {
                  error: { code: 'InvalidAuthenticationToken', message: 'The access token is missing or invalid.' },
                },
              };
        },
      });
      return [entra.handler, arm, eventGridArm, inbox.receiverHandler];
    },
    verifyAccessToken: (token) => (entra ? acrExchangeVerifier(entra)(token) : undefined),
  });
  if (entra === undefined || connectedRegistries === undefined || inbox === undefined || cloud === undefined)
    throw new Error('the emulator did not build its management modules');
  const ca = readFileSync(emulator.caFile, 'utf8');
  // The Event Grid engine needs the control URL, so it is created after the emulator; ARM reads it through this.
  const eventGrid = createEventGridEngine({
    registries: () => definitions(emulator),
    clock: emulator.clock,
    timeScale: options.eventGridTimeScale ?? 1,
    deliveryConcurrency: options.eventGridConcurrency ?? 1,
    ca,
    validationBaseUrl: emulator.controlUrl,
  });
  emulator.setEventSink(eventGrid);
  late.eventGrid = eventGrid;
  emulator.mountControl(
    createEventGridControlHandler(eventGrid),
    createConnectedRegistryControlHandler(connectedRegistries, () => definitions(emulator)),
    createArmControlHandler({
      cloud,
      registries: () => definitions(emulator),
      permissions: (name) => emulator.state.registry(name)?.permissions,
    }),
    inbox.controlHandler,
  );
  const managementPort = Number(new URL(emulator.managementUrl).port);
  const tunnel = await startDiscoveryTunnel({ target: { host: '127.0.0.1', port: managementPort } });
  const control = new EmulatorControlClient(emulator.controlUrl);

  const connected = connectedRegistries;
  const armCloud = cloud;
  const seed = async (): Promise<void> => {
    await seedSandbox(control);
    const sandbox = definitions(emulator).find((definition) => definition.name === 'sandbox');
    if (sandbox) {
      seedConnectedRegistries(connected, sandbox);
      seedSandboxClusters(armCloud, sandbox, emulator.state.registry('sandbox')!.permissions);
    }
  };
  if (options.seed ?? false) await seed();

  return {
    emulator,
    control,
    seed,
    entra,
    eventGrid,
    connectedRegistries,
    arm: armCloud,
    tunnel,
    inbox,
    appClient,
    appSettings: () => ({ ...appSettingsFor(emulator.registries, emulator, tunnel, appClient), ...alertSettings }),
    async close() {
      eventGrid.close();
      await tunnel.close();
      await emulator.close();
    },
  };
}

function appSettingsFor(
  registries: readonly StartedRegistry[],
  emulator: Emulator,
  tunnel: DiscoveryTunnel,
  appClient: SandboxEmulator['appClient'],
): Record<string, string> {
  const settings: Record<string, string> = {
    REGISTRIES: JSON.stringify(
      registries.map((registry) => {
        const definition = emulator.state.registries.get(registry.name)!.definition;
        return {
          name: registry.name,
          loginServer: registry.loginServer,
          resourceId: `/subscriptions/${definition.subscriptionId}/resourceGroups/${definition.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${registry.name}`,
          auth: registry.password
            ? { type: 'password', username: registry.username, passwordSetting: passwordSettingName(registry.name) }
            : { type: 'identity' },
        };
      }),
    ),
    ARM_ENDPOINT: emulator.managementUrl,
    AZURE_AUTHORITY_HOST: emulator.managementUrl,
    AZURE_TENANT_ID: appClient.tenantId,
    AZURE_CLIENT_ID: appClient.clientId,
    AZURE_CLIENT_SECRET: appClient.clientSecret,
    NODE_EXTRA_CA_CERTS: emulator.caFile,
    HTTPS_PROXY: tunnel.url,
    NO_PROXY: '127.0.0.1,localhost',
    // The resource group the seed puts its AKS clusters in (arm/aks-seed.ts); empty clusters list before seeding.
    CONSUMER_SCOPES: SANDBOX_CONSUMER_SCOPE,
  };
  for (const registry of registries)
    if (registry.password) settings[passwordSettingName(registry.name)] = registry.password;
  return settings;
}

export function passwordSettingName(registry: string): string {
  return `REGISTRY_${registry.toUpperCase()}_PASSWORD`;
}
