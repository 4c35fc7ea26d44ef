/**
 * Built-in Azure role definitions the emulator's ARM serves (Microsoft.Authorization/roleDefinitions, api-version
 * 2022-04-01, what @azure/arm-authorization 9 sends). IDs and permissions as Microsoft Learn lists them:
 * "Azure built-in roles for Containers" (learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers;
 * read from MicrosoftDocs/azure-docs `articles/role-based-access-control/built-in-roles/containers.md` @0088bfa7) for
 * the Acr* and Container Registry Repository roles, and "Azure built-in roles for Privileged" / "General"
 * (…/built-in-roles/privileged, …/general) for Owner, Contributor and Reader. Contributor's notActions are the
 * Microsoft.Authorization ones that matter here; the Learn page lists a few more (blueprints, deployment stacks).
 */
import type { RegistryRole } from '../registry/permissions.js';

export interface BuiltInRole {
  readonly guid: string;
  readonly roleName: RegistryRole;
  readonly description: string;
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly dataActions: readonly string[];
  readonly notDataActions: readonly string[];
}

const ACR = 'Microsoft.ContainerRegistry/registries';
const role = (
  guid: string,
  roleName: RegistryRole,
  description: string,
  permissions: Partial<Pick<BuiltInRole, 'actions' | 'notActions' | 'dataActions'>>,
): BuiltInRole => ({
  guid,
  roleName,
  description,
  actions: permissions.actions ?? [],
  notActions: permissions.notActions ?? [],
  dataActions: permissions.dataActions ?? [],
  notDataActions: [],
});

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  role('8e3af657-a8ff-443c-a75c-2fe8c4bcb635', 'Owner', 'Grants full access to manage all resources.', {
    actions: ['*'],
  }),
  role('b24988ac-6180-42a0-ab88-20f7382dd24c', 'Contributor', 'Grants full access to manage all resources.', {
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
    ],
  }),
  role(
    'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    'Reader',
    'View all resources, but does not allow you to make any changes.',
    {
      actions: ['*/read'],
    },
  ),
  role('7f951dda-4ed3-4680-a7ca-43fe172d538d', 'AcrPull', 'acr pull', { actions: [`${ACR}/pull/read`] }),
  role('8311e382-0749-4cb8-b61a-304f252e45ec', 'AcrPush', 'acr push', {
    actions: [`${ACR}/pull/read`, `${ACR}/push/write`],
  }),
  role('c2f4ef07-c644-48eb-af81-4b1b4947fb11', 'AcrDelete', 'acr delete', { actions: [`${ACR}/artifacts/delete`] }),
  role(
    'b93aa761-3e63-49ed-ac28-beffa264f7ac',
    'Container Registry Repository Reader',
    'Allows for read access to Azure Container Registry repositories, but excluding catalog listing.',
    { dataActions: [`${ACR}/repositories/metadata/read`, `${ACR}/repositories/content/read`] },
  ),
  role(
    '2a1e307c-b015-4ebd-883e-5b7698a07328',
    'Container Registry Repository Writer',
    'Allows for read and write access to Azure Container Registry repositories, but excluding catalog listing.',
    {
      dataActions: [
        `${ACR}/repositories/metadata/read`,
        `${ACR}/repositories/content/read`,
        `${ACR}/repositories/metadata/write`,
        `${ACR}/repositories/content/write`,
      ],
    },
  ),
  role(
    '2efddaa5-3f1f-4df3-97df-af3f13818f4c',
    'Container Registry Repository Contributor',
    'Allows for read, write, and delete access to Azure Container Registry repositories, but excluding catalog listing.',
    {
      dataActions: [
        `${ACR}/repositories/metadata/read`,
        `${ACR}/repositories/content/read`,
        `${ACR}/repositories/metadata/write`,
        `${ACR}/repositories/content/write`,
        `${ACR}/repositories/metadata/delete`,
        `${ACR}/repositories/content/delete`,
      ],
    },
  ),
  role(
    'bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7',
    'Container Registry Repository Catalog Lister',
    'Allows for listing all repositories in an Azure Container Registry.',
    { dataActions: [`${ACR}/catalog/read`] },
  ),
];

export function roleByName(name: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((r) => r.roleName.toLowerCase() === name.toLowerCase());
}

export function roleByGuid(guid: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((r) => r.guid === guid.toLowerCase());
}

/**
 * A definition as ARM answers GET `{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`: built-in roles
 * are tenant-level, so the id carries the subscription only when asked through one (as ARM does).
 */
export function roleDefinitionResource(definition: BuiltInRole, subscriptionId?: string): Record<string, unknown> {
  const prefix = subscriptionId === undefined ? '' : `/subscriptions/${subscriptionId}`;
  return {
    id: `${prefix}/providers/Microsoft.Authorization/roleDefinitions/${definition.guid}`,
    name: definition.guid,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: definition.roleName,
      description: definition.description,
      type: 'BuiltInRole',
      permissions: [
        {
          actions: [...definition.actions],
          notActions: [...definition.notActions],
          dataActions: [...definition.dataActions],
          notDataActions: [...definition.notDataActions],
        },
      ],
      assignableScopes: ['/'],
    },
  };
}
