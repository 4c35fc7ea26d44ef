// acr-streaming-autopilot on Azure: `azd up` provisions this (then deploys the code, then the postdeploy hook
// creates the Event Grid subscriptions with infra/eventgrid.bicep). Layout as in Azure-Samples'
// functions-quickstart-typescript-azd: this file composes infra/app/*.bicep; outputs are UPPER_SNAKE for azd.
// No Bicep compiler runs in this repository's CI: test/unit/infra/bicep-syntax.test.ts parses every .bicep file with
// the tree-sitter-bicep grammar, test/unit/infra/parity.test.ts checks the text (settings, storage names, role IDs,
// API versions, the Event Grid target, parameter rules) — run `az bicep build --file infra/main.bicep` before a
// change is merged (types, scopes, API schemas).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; seeds resource names.')
param environmentName string

@minLength(1)
@description('Region of the app\'s resources (a region with Flex Consumption).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group for the app; default rg-{environmentName}.')
param resourceGroupName string = ''

@description('STORAGE_PREFIX: prefix of every table, queue and container the app owns: lowercase letters and digits, 3 to 20, starting with a letter.')
@minLength(3)
@maxLength(20)
param storagePrefix string = 'streaming'

// The rule of STORAGE_PREFIX, the same as lib/storage/resources.ts storagePrefixRule (lib/config.ts validates the
// setting with it; test/unit/infra/parity.test.ts compares the two and runs the same cases through both): the
// lengths above, and these alphabets. contains() on strings is case-sensitive; fail() stops the deployment
// (learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-flow-control).
var storagePrefixFirst = 'abcdefghijklmnopqrstuvwxyz'
var storagePrefixRest = 'abcdefghijklmnopqrstuvwxyz0123456789'
var checkedStoragePrefix = contains(storagePrefixFirst, substring(storagePrefix, 0, 1)) && empty(filter(map(range(0, length(storagePrefix)), i => substring(storagePrefix, i, 1)), c => !contains(storagePrefixRest, c))) ? storagePrefix : fail('storagePrefix must be lowercase letters and digits, starting with a letter (the rule of STORAGE_PREFIX in lib/config.ts)')

@description('''Registries the app serves, possibly in other resource groups or subscriptions:
[{ "name": "myregistry", "resourceGroup": "rg-acr", "subscriptionId": "<optional, default this subscription>",
   "permissionsMode": "rbac" | "abac" (optional, default rbac), "abacAllowDisableStreaming": false (optional),
   "systemTopicName": "<optional: an existing Event Grid system topic of the registry>" }]''')
param registries array = []

@minLength(1)
@description('Client ID of the Entra app registration defining the app roles Streaming.Read/Write/Admin (README: Deploy to Azure). Required: App Service Authentication with an empty client ID would accept no token.')
param authClientId string

@description('Extra token audiences App Service Authentication accepts.')
param authAllowedAudiences array = []

@description('DEFAULT_POLICY app setting (JSON).')
param defaultPolicy string = '{"mode":"off"}'

@description('ALERT_CHANNELS app setting (JSON array; URLs and secrets by app setting name).')
param alertChannels string = '[]'

@description('CONSUMER_SCOPES app setting: comma-separated ARM IDs (subscriptions, resource groups or AKS clusters) where the AKS clusters pulling from the registries are looked for; empty turns the consumer features off. The app identity needs Reader there (not granted by this template).')
param consumerScopes string = ''

@description('App settings that are Key Vault references to secrets in this deployment\'s vault: [{ "setting": "ALERT_OPS_WEBHOOK_URL", "secretName": "alert-ops-webhook-url" }].')
param alertSecretSettings array = []

@description('Overrides of literal app settings, e.g. { "ACR_MAX_CONCURRENCY": "16", "ALERTS_DRY_RUN": "true" }.')
param settingOverrides object = {}

@description('E-mail addresses of the Azure Monitor action group.')
param alertEmails array = []

@description('Conversion failures per hour (per registry and error code) that fire the Azure Monitor alert.')
param conversionFailureThreshold int = 5

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

// Deploy twice (docs/operations.md § Deploy, remove, deploy again): a deleted vault stays soft-deleted under its
// name (7 days here) and a deployment of that name fails until it is purged; purge protection forbids purging.
// Off by default so `azd down --purge` then `azd up` works; an operator who turns it on and later removes the
// environment changes keyVaultNameSeed to get a new vault name.
@description('Key Vault purge protection (once on, cannot be turned off; the vault name is then blocked for the retention period after a delete). Off by default so azd down --purge / azd up works.')
param keyVaultPurgeProtection bool = false

@description('Changes the Key Vault name (kv-{token}{seed}); set it after removing an environment whose vault had purge protection on.')
@maxLength(5)
param keyVaultNameSeed string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

// One entry per registry with every optional field resolved; the postdeploy hook reads it back (REGISTRY_TARGETS).
var registryTargets = [
  for r in registries: {
    name: r.name
    resourceGroup: r.resourceGroup
    subscriptionId: r.?subscriptionId ?? subscription().subscriptionId
    permissionsMode: r.?permissionsMode ?? 'rbac'
    abacAllowDisableStreaming: r.?abacAllowDisableStreaming ?? false
    systemTopicName: r.?systemTopicName ?? 'evgt-${r.name}'
  }
]

// The REGISTRIES app setting exactly as lib/config.ts validates it (identity auth; password-auth registries
// can be set through settingOverrides plus a Key Vault reference in alertSecretSettings).
var registriesSetting = string(map(registryTargets, t => {
  name: t.name
  loginServer: '${toLower(t.name)}${environment().suffixes.acrLoginServer}'
  resourceId: '/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${t.name}'
  auth: { type: 'identity' }
  // The report's subscription check reads this topic (Reader on it: infra/app/eventgrid-registry.bicep).
  systemTopic: t.systemTopicName
}))

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    prefix: checkedStoragePrefix
    deploymentContainerName: deploymentContainerName
  }
}

module vault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}${toLower(keyVaultNameSeed)}'
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
    softDeleteRetentionInDays: 7
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module registryAccess 'app/registry-access.bicep' = [
  for target in registryTargets: {
    name: take('registry-access-${target.name}-${uniqueString(target.subscriptionId, target.resourceGroup)}', 64)
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      registryName: target.name
      principalId: identity.outputs.principalId
      permissionsMode: target.permissionsMode
      abacAllowDisableStreaming: target.abacAllowDisableStreaming
    }
  }
]

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  // Roles first: the host starts with identity-based storage and Key Vault references as soon as the site exists.
  dependsOn: [rbac]
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: vault.outputs.uri
    storagePrefix: checkedStoragePrefix
    registriesSetting: registriesSetting
    defaultPolicy: defaultPolicy
    alertChannels: alertChannels
    consumerScopes: consumerScopes
    alertSecretSettings: alertSecretSettings
    settingOverrides: settingOverrides
    authClientId: authClientId
    authAllowedAudiences: authAllowedAudiences
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: 'alert-${resourceToken}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmails: alertEmails
    conversionFailureThreshold: conversionFailureThreshold
    storagePrefix: checkedStoragePrefix
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_ID string = api.outputs.id
output AZURE_FUNCTION_APP_URL string = api.outputs.uri
output AZURE_USER_ASSIGNED_IDENTITY_ID string = identity.outputs.id
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output EVENTGRID_DEADLETTER_CONTAINER string = storage.outputs.deadLetterContainerName
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_URI string = vault.outputs.uri
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output STORAGE_PREFIX string = checkedStoragePrefix
output REGISTRY_TARGETS array = registryTargets
