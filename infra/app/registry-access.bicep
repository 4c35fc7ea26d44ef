// Deployed at the resource group of one target registry (possibly another resource group or subscription).
// Grants the app's identity what it needs on that registry and nothing wider:
//   - data plane: start and track conversions (POST/GET _streaming, _operations), read manifests and referrers,
//     list the catalog (backfill, audits, native mode), set repository convertPushedImages (native mode);
//   - control plane read (Reader): Premium SKU / encryption readiness and connected registries (ARM).
// Registries in "RBAC Registry + ABAC Repository Permissions" mode ignore AcrPush/AcrPull; they need the
// repository-scoped roles instead (permissionsMode 'abac').
targetScope = 'resourceGroup'

param registryName string
param principalId string
@allowed(['rbac', 'abac'])
@description('The registry\'s role assignment permissions mode: rbac (AcrPush honoured) or abac (repository roles).')
param permissionsMode string = 'rbac'
@description('ABAC mode only: Container Registry Repository Contributor instead of Writer (it also grants delete). Writer sets a repository\'s artifact-streaming switch both ways as Microsoft\'s roles reference reads (docs/assumptions.md A12); set this only if the registry refuses to turn the switch off to Writer (a policy.drift alert says so).')
param abacAllowDisableStreaming bool = false

var roles = {
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec'
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  containerRegistryRepositoryWriter: '2a1e307c-b015-4ebd-883e-5b7698a07328'
  containerRegistryRepositoryContributor: '2efddaa5-3f1f-4df3-97df-af3f13818f4c'
  containerRegistryRepositoryCatalogLister: 'bfdb9389-c9a5-478a-bb2f-ba9ca092c3c7'
}

var dataRoles = permissionsMode == 'rbac'
  ? [roles.acrPush]
  : [
      abacAllowDisableStreaming ? roles.containerRegistryRepositoryContributor : roles.containerRegistryRepositoryWriter
      roles.containerRegistryRepositoryCatalogLister
    ]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource dataPlane 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in dataRoles: {
    name: guid(registry.id, principalId, role)
    scope: registry
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

// Reader on the registry itself (not its resource group): registry SKU/encryption and connected registries.
resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, principalId, roles.reader)
  scope: registry
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
  }
}

output registryId string = registry.id
output loginServer string = registry.properties.loginServer
output location string = registry.location
