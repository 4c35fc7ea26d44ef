/**
 * ARM JSON for registries and connected registries, api-version 2025-11-01, shaped as the
 * @azure/arm-containerregistry 12 deserializers read them (properties are flattened by the SDK, dates parsed).
 * Optional properties are omitted rather than sent as null, as ARM does.
 */
import { registryResourceId, type RegistryDefinition } from '../contract.js';
import { stableGuid, type RegistryNetwork } from './cloud.js';
import type { StoredConnectedRegistry } from './connected-registries.js';

export interface RegistryResourceOptions {
  /** ISO-8601 creation time for systemData/creationDate. */
  readonly createdAt: string;
  readonly tenantId: string;
  /** Public access, firewall and private endpoints (arm/cloud.ts); ACR's defaults when absent. */
  readonly network?: RegistryNetwork;
}

const CREATOR = { createdBy: 'emulator@contoso.com', createdByType: 'User' } as const;

function systemData(createdAt: string): Record<string, string> {
  return {
    ...CREATOR,
    createdAt,
    lastModifiedBy: CREATOR.createdBy,
    lastModifiedByType: CREATOR.createdByType,
    lastModifiedAt: createdAt,
  };
}

/** A registry as ARM shows it: its definition and the role-assignment mode its permissions are read in. */
export type ArmRegistry = RegistryDefinition & {
  /** Default `LegacyRegistryPermissions`, as for a registry created without `--role-assignment-mode`. */
  readonly roleAssignmentMode?: 'LegacyRegistryPermissions' | 'AbacRepositoryPermissions';
};

export function registryResource(registry: ArmRegistry, options: RegistryResourceOptions): Record<string, unknown> {
  const id = registryResourceId(registry);
  const premium = registry.sku === 'Premium';
  const identityId = `/subscriptions/${registry.subscriptionId}/resourceGroups/${registry.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${registry.name}-cmk`;
  const identityClientId = stableGuid(`${id}/cmk-client`);
  const properties: Record<string, unknown> = {
    loginServer: registry.loginServer,
    creationDate: options.createdAt,
    provisioningState: 'Succeeded',
    adminUserEnabled: registry.adminUser !== undefined,
    // Premium only: "network rules are a Premium feature" (Microsoft Learn "Configure public IP network rules").
    ...(premium
      ? {
          networkRuleSet: {
            defaultAction: options.network?.networkRuleSet.defaultAction ?? 'Allow',
            ipRules: (options.network?.networkRuleSet.ipRules ?? []).map((rule) => ({ ...rule })),
          },
        }
      : {}),
    policies: {
      quarantinePolicy: { status: 'disabled' },
      trustPolicy: { type: 'Notary', status: 'disabled' },
      retentionPolicy: { days: 7, lastUpdatedTime: options.createdAt, status: 'disabled' },
      exportPolicy: { status: 'enabled' },
      azureADAuthenticationAsArmPolicy: { status: 'enabled' },
    },
    encryption: registry.customerManagedKey
      ? {
          status: 'enabled',
          keyVaultProperties: {
            keyIdentifier: `https://${registry.name}-kv.vault.azure.net/keys/acr-cmk`,
            versionedKeyIdentifier: `https://${registry.name}-kv.vault.azure.net/keys/acr-cmk/${stableGuid(`${id}/key`).replace(/-/g, '')}`,
            identity: identityClientId,
            keyRotationEnabled: false,
            lastKeyRotationTimestamp: options.createdAt,
          },
        }
      : { status: 'disabled' },
    dataEndpointEnabled: false,
    dataEndpointHostNames: [],
    privateEndpointConnections: (options.network?.privateEndpoints ?? []).map((endpoint) => ({
      id: `${id}/privateEndpointConnections/${endpoint.id.split('/').pop() ?? 'pe'}.${stableGuid(endpoint.id)}`,
      name: `${endpoint.id.split('/').pop() ?? 'pe'}.${stableGuid(endpoint.id)}`,
      type: 'Microsoft.ContainerRegistry/registries/privateEndpointConnections',
      properties: {
        privateEndpoint: { id: endpoint.id },
        privateLinkServiceConnectionState: {
          status: endpoint.status,
          description: endpoint.status === 'Approved' ? 'Auto-Approved' : '',
          actionsRequired: 'None',
        },
        provisioningState: 'Succeeded',
      },
    })),
    publicNetworkAccess: options.network?.publicNetworkAccess ?? 'Enabled',
    networkRuleBypassOptions: 'AzureServices',
    networkRuleBypassAllowedForTasks: false,
    zoneRedundancy: 'Disabled',
    anonymousPullEnabled: registry.anonymousPullEnabled,
    roleAssignmentMode: registry.roleAssignmentMode ?? 'LegacyRegistryPermissions',
  };
  return {
    sku: { name: registry.sku, tier: registry.sku },
    type: 'Microsoft.ContainerRegistry/registries',
    id,
    name: registry.name,
    location: registry.location,
    tags: {},
    systemData: systemData(options.createdAt),
    // A customer-managed key needs a user-assigned identity to reach Key Vault, so CMK registries carry one.
    ...(registry.customerManagedKey
      ? {
          identity: {
            type: 'UserAssigned',
            tenantId: options.tenantId,
            userAssignedIdentities: {
              [identityId]: { principalId: stableGuid(`${id}/cmk-principal`), clientId: identityClientId },
            },
          },
        }
      : {}),
    properties,
  };
}

export function connectedRegistryResource(
  registry: RegistryDefinition,
  cr: StoredConnectedRegistry,
): Record<string, unknown> {
  const registryId = registryResourceId(registry);
  const createdAt = cr.createdAt ?? new Date(0).toISOString();
  const active = cr.activationStatus === 'Active';
  const syncProperties: Record<string, unknown> = {
    tokenId: `${registryId}/tokens/${cr.name}-sync-token`,
    schedule: cr.syncSchedule,
    ...(cr.syncWindow !== undefined ? { syncWindow: cr.syncWindow } : {}),
    messageTtl: cr.syncMessageTtl,
    ...(cr.lastSyncTime !== undefined ? { lastSyncTime: cr.lastSyncTime } : {}),
    // In the reference, only children of the cloud registry carry a gateway endpoint (nested ones sync via parent).
    ...(cr.parentName === undefined
      ? { gatewayEndpoint: `${registry.name}.${registry.location}.data.azurecr.io` }
      : {}),
  };
  const properties: Record<string, unknown> = {
    provisioningState: 'Succeeded',
    mode: cr.mode,
    ...(cr.version !== undefined ? { version: cr.version } : {}),
    connectionState: cr.connectionState,
    ...(cr.lastActivityTime !== undefined ? { lastActivityTime: cr.lastActivityTime } : {}),
    activation: { status: cr.activationStatus },
    parent: {
      ...(cr.parentName !== undefined ? { id: `${registryId}/connectedRegistries/${cr.parentName}` } : {}),
      syncProperties,
    },
    ...(cr.clientTokenIds.length > 0 ? { clientTokenIds: [...cr.clientTokenIds] } : {}),
    // Never-activated instances report an empty certificate (reference JSON); active ones their TLS setup.
    loginServer: active
      ? {
          host: `${cr.name}.edge.internal`,
          tls: { status: 'Enabled', certificate: { type: 'LocalDirectory', location: '/var/acr/certs' } },
        }
      : { tls: { certificate: {} } },
    logging: cr.logging ?? { logLevel: 'Information', auditLogStatus: 'Disabled' },
    ...(cr.statusDetails.length > 0 ? { statusDetails: cr.statusDetails.map((d) => ({ ...d })) } : {}),
    ...(cr.notificationsList !== undefined ? { notificationsList: [...cr.notificationsList] } : {}),
    ...(cr.garbageCollection !== undefined ? { garbageCollection: { ...cr.garbageCollection } } : {}),
  };
  return {
    type: 'Microsoft.ContainerRegistry/registries/connectedRegistries',
    id: `${registryId}/connectedRegistries/${cr.name}`,
    name: cr.name,
    systemData: systemData(createdAt),
    properties,
  };
}

/** A replication as `registries/{name}/replications` lists it (api-version 2025-11-01); named after its location. */
export function replicationResource(
  registry: RegistryDefinition,
  location: string,
  createdAt: string,
): Record<string, unknown> {
  return {
    id: `${registryResourceId(registry)}/replications/${location}`,
    name: location,
    type: 'Microsoft.ContainerRegistry/registries/replications',
    location,
    tags: {},
    systemData: systemData(createdAt),
    properties: {
      provisioningState: 'Succeeded',
      status: { displayStatus: 'Ready', message: '', timestamp: createdAt },
      regionEndpointEnabled: true,
      zoneRedundancy: 'Disabled',
    },
  };
}
