import { request as httpsRequest } from 'node:https';
import { ContainerRegistryManagementClient, type ConnectedRegistry } from '@azure/arm-containerregistry';
import { ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createArmHandler,
  createConnectedRegistryControlHandler,
  createConnectedRegistryStore,
  seedConnectedRegistries,
  type ConnectedRegistryStore,
} from '../../../dev/emulator/arm/index.js';
import type { ArmRegistry } from '../../../dev/emulator/arm/resources.js';
import { createEntra } from '../../../dev/emulator/entra/index.js';
import { startTestingServer, type TestingServer } from '../../../dev/emulator/entra/testing-server.js';
import { createTestClock } from './clock.js';
import { createTestPki, type TestPki } from './tls.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SUB = '00000000-1111-2222-3333-444444444444';
const CLIENT = { clientId: 'c0ffee00-0000-0000-0000-000000000001', clientSecret: 'arm-test-secret' };

const registry = (overrides: Partial<ArmRegistry> & Pick<ArmRegistry, 'name'>): ArmRegistry => ({
  subscriptionId: SUB,
  resourceGroup: 'rg-sandbox',
  location: 'westeurope',
  sku: 'Premium',
  customerManagedKey: false,
  anonymousPullEnabled: false,
  loginServer: 'localhost:44301',
  adminUser: undefined,
  ...overrides,
});

const REGISTRIES: ArmRegistry[] = [
  registry({ name: 'sandbox', anonymousPullEnabled: true, adminUser: { username: 'sandbox', password: 'pw' } }),
  registry({
    name: 'cmkreg',
    customerManagedKey: true,
    loginServer: 'localhost:44302',
    roleAssignmentMode: 'AbacRepositoryPermissions',
  }),
  registry({ name: 'basicreg', sku: 'Basic', resourceGroup: 'rg-other', loginServer: 'localhost:44303' }),
];

function rawGet(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('emulated ARM for Microsoft.ContainerRegistry', () => {
  const clock = createTestClock();
  let pki: TestPki;
  let server: TestingServer;
  let store: ConnectedRegistryStore;
  let client: ContainerRegistryManagementClient;

  beforeAll(async () => {
    pki = createTestPki();
    const entra = createEntra({ clock, tenantId: TENANT, clients: [CLIENT] });
    store = createConnectedRegistryStore(clock);
    seedConnectedRegistries(store, REGISTRIES[0]!);
    const arm = createArmHandler({
      registries: () => REGISTRIES,
      connectedRegistries: store,
      verifyAccessToken: entra.verifyAccessToken,
      tenantId: TENANT,
      pageSize: 2,
    });
    server = await startTestingServer({ handlers: [entra.handler, arm], tls: { cert: pki.certPem, key: pki.keyPem } });
    const credential = new ClientSecretCredential(TENANT, CLIENT.clientId, CLIENT.clientSecret, {
      authorityHost: server.url,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: pki.caPem },
    });
    client = new ContainerRegistryManagementClient(credential, SUB, {
      endpoint: server.url,
      // Without this the SDK asks for `${endpoint}/.default`, i.e. an audience ARM would reject.
      credentials: { scopes: ['https://management.azure.com/.default'] },
      tlsOptions: { ca: pki.caPem },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('lists registries across pages with the properties the SDK maps', async () => {
    const all = await collect(client.registries.list());
    expect(all.map((r) => r.name)).toEqual(['sandbox', 'cmkreg', 'basicreg']);
    expect(server.requests.filter((r) => r.path.endsWith('/registries')).map((r) => r.query)).toEqual([
      'api-version=2025-11-01',
      'api-version=2025-11-01&%24skipToken=2',
    ]);
    const [sandbox, cmk, basic] = all;
    expect(sandbox).toMatchObject({
      id: `/subscriptions/${SUB}/resourceGroups/rg-sandbox/providers/Microsoft.ContainerRegistry/registries/sandbox`,
      type: 'Microsoft.ContainerRegistry/registries',
      location: 'westeurope',
      sku: { name: 'Premium', tier: 'Premium' },
      loginServer: 'localhost:44301',
      provisioningState: 'Succeeded',
      adminUserEnabled: true,
      anonymousPullEnabled: true,
      encryption: { status: 'disabled' },
      roleAssignmentMode: 'LegacyRegistryPermissions',
      policies: { azureADAuthenticationAsArmPolicy: { status: 'enabled' } },
    });
    expect(sandbox?.creationDate).toBeInstanceOf(Date);
    expect(cmk?.encryption?.status).toBe('enabled');
    expect(cmk?.encryption?.keyVaultProperties?.keyIdentifier).toBe('https://cmkreg-kv.vault.azure.net/keys/acr-cmk');
    expect(cmk?.identity?.type).toBe('UserAssigned');
    expect(basic).toMatchObject({ sku: { name: 'Basic', tier: 'Basic' }, networkRuleSet: undefined });
  });

  it('lists by resource group and gets one registry', async () => {
    expect((await collect(client.registries.listByResourceGroup('rg-other'))).map((r) => r.name)).toEqual(['basicreg']);
    const got = await client.registries.get('rg-sandbox', 'cmkreg');
    expect(got.name).toBe('cmkreg');
    // The SDK maps `roleAssignmentMode` (12.0.0, api-version 2025-11-01); readiness reads it to name the right role.
    expect(got.roleAssignmentMode).toBe('AbacRepositoryPermissions');
  });

  it('lists connected registries (paged) with 2025-11-01 fields', async () => {
    const items = await collect(client.connectedRegistries.list('rg-sandbox', 'sandbox'));
    const byName = new Map(items.map((i) => [i.name, i] as [string, ConnectedRegistry]));
    expect([...byName.keys()]).toEqual(['edgenever', 'edgeonline', 'edgestale']);
    const now = clock.now().getTime();

    const online = byName.get('edgeonline')!;
    expect(online).toMatchObject({
      type: 'Microsoft.ContainerRegistry/registries/connectedRegistries',
      provisioningState: 'Succeeded',
      mode: 'ReadOnly',
      version: '0.11.0',
      connectionState: 'Online',
      activation: { status: 'Active' },
      clientTokenIds: [expect.stringContaining('/tokens/edgeonline-client')],
      loginServer: { host: 'edgeonline.edge.internal', tls: { status: 'Enabled' } },
      logging: { logLevel: 'Information', auditLogStatus: 'Disabled' },
      notificationsList: ['*:*'],
      garbageCollection: { enabled: true, schedule: '0 5 * * *' },
    });
    expect(now - online.lastActivityTime!.getTime()).toBe(2 * 60_000);
    expect(online.parent?.syncProperties.tokenId).toMatch(/\/registries\/sandbox\/tokens\/edgeonline-sync-token$/);
    expect(online.parent?.syncProperties).toMatchObject({
      schedule: '* * * * *',
      messageTtl: 'P2D',
      gatewayEndpoint: 'sandbox.westeurope.data.azurecr.io',
    });
    expect(online.parent?.syncProperties.lastSyncTime).toBeInstanceOf(Date);

    const stale = byName.get('edgestale')!;
    expect(stale.connectionState).toBe('Online');
    expect(now - stale.lastActivityTime!.getTime()).toBe(3 * 24 * 3_600_000);
    expect(stale.parent?.syncProperties.syncWindow).toBe('PT3H');

    const never = byName.get('edgenever')!;
    expect(never).toMatchObject({
      connectionState: 'Offline',
      activation: { status: 'Inactive' },
      loginServer: { tls: { certificate: {} } },
    });
    expect(never.lastActivityTime).toBeUndefined();
    expect(never.version).toBeUndefined();
    expect(never.parent?.syncProperties.lastSyncTime).toBeUndefined();
  });

  it('gets one connected registry and reflects the control setters', async () => {
    store.setConnectionState('sandbox', 'edgestale', 'Unhealthy');
    store.setStatusDetails('sandbox', 'edgestale', [
      {
        type: 'Sync',
        code: 'SyncFailed',
        description: 'Parent unreachable',
        timestamp: clock.now().toISOString(),
        correlationId: 'c-1',
      },
    ]);
    const got = await client.connectedRegistries.get('rg-sandbox', 'sandbox', 'edgestale');
    expect(got.connectionState).toBe('Unhealthy');
    expect(got.statusDetails).toEqual([
      {
        type: 'Sync',
        code: 'SyncFailed',
        description: 'Parent unreachable',
        timestamp: clock.now(),
        correlationId: 'c-1',
      },
    ]);
    const online = await collect(
      client.connectedRegistries.list('rg-sandbox', 'sandbox', { filter: "connectionState eq 'Online'" }),
    );
    expect(online.map((c) => c.name)).toEqual(['edgeonline']);
  });

  it('lets the control API stage connected-registry state that ARM then reports', async () => {
    const control = await startTestingServer({
      handlers: [createConnectedRegistryControlHandler(store, () => REGISTRIES)],
      listener: { kind: 'control' },
    });
    try {
      const base = `${control.url}/_emulator/connected-registries/sandbox`;
      const patched = await fetch(`${base}/edgeonline`, {
        method: 'PATCH',
        body: JSON.stringify({ connectionState: 'Offline', lastActivityTime: null, activationStatus: 'Inactive' }),
      });
      expect(patched.status).toBe(200);
      const created = await fetch(`${base}/edgechild`, {
        method: 'PUT',
        body: JSON.stringify({ parentName: 'edgeonline', mode: 'ReadOnly' }),
      });
      expect(created.status).toBe(200);
      const invalid = await fetch(`${base}/edgechild`, {
        method: 'PATCH',
        body: JSON.stringify({ connectionState: 'Sleeping' }),
      });
      expect(invalid.status).toBe(400);

      const online = await client.connectedRegistries.get('rg-sandbox', 'sandbox', 'edgeonline');
      expect(online).toMatchObject({ connectionState: 'Offline', activation: { status: 'Inactive' } });
      expect(online.lastActivityTime).toBeUndefined();
      const children = await collect(
        client.connectedRegistries.list('rg-sandbox', 'sandbox', { filter: `parent.id eq '${online.id ?? ''}'` }),
      );
      expect(children.map((c) => [c.name, c.parent?.id, c.parent?.syncProperties.gatewayEndpoint])).toEqual([
        ['edgechild', online.id, undefined],
      ]);
    } finally {
      await control.close();
    }
  });

  it('answers ARM-style 404 and 401 errors', async () => {
    await expect(client.registries.get('rg-sandbox', 'nope')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
    await expect(client.connectedRegistries.get('rg-sandbox', 'sandbox', 'nope')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
    await expect(client.registries.get('rg-missing', 'sandbox')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
    });

    const path = `/subscriptions/${SUB}/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01`;
    const anonymous = await rawGet(`${server.url}${path}`, pki.caPem);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'AuthenticationFailed' } });
    expect(String(anonymous.headers['www-authenticate'])).toMatch(/^Bearer authorization_uri=/);

    // The SDK's default scope for a custom endpoint is `${endpoint}/.default`: ARM must refuse that audience.
    const wrongAudience = new ContainerRegistryManagementClient(
      new ClientSecretCredential(TENANT, CLIENT.clientId, CLIENT.clientSecret, {
        authorityHost: server.url,
        disableInstanceDiscovery: true,
        tlsOptions: { ca: pki.caPem },
      }),
      SUB,
      { endpoint: server.url, tlsOptions: { ca: pki.caPem } },
    );
    await expect(wrongAudience.registries.get('rg-sandbox', 'sandbox')).rejects.toMatchObject({
      statusCode: 401,
      code: 'InvalidAuthenticationTokenAudience',
    });
  });
});
