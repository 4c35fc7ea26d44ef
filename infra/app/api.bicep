// The function app on Flex Consumption: Node 20, the user-assigned identity, identity-based AzureWebJobsStorage,
// HTTPS only with TLS 1.2, App Service Authentication (Entra ID) in front of /api/*, and every app setting the
// schema in lib/config.ts reads (configSettingNames), under the same names. A unit test keeps the literal
// settings below in step with the schema and local.settings.sample.json.
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param keyVaultUri string

@description('STORAGE_PREFIX (binding expression %STORAGE_PREFIX% in queue triggers).')
param storagePrefix string
@description('REGISTRIES: the JSON array lib/config.ts expects, built in main.bicep from the registries parameter.')
param registriesSetting string
@description('DEFAULT_POLICY: JSON policy for repositories without their own.')
param defaultPolicy string
@description('ALERT_CHANNELS: JSON array of channels; URLs and secrets by setting name (alertSecretSettings).')
param alertChannels string
@description('CONSUMER_SCOPES: comma-separated ARM IDs where consuming AKS clusters are looked for; empty: off.')
param consumerScopes string = ''
@description('App settings holding Key Vault references: [{ setting: "ALERT_OPS_WEBHOOK_URL", secretName: "alert-ops-webhook-url" }].')
param alertSecretSettings array = []
@description('Overrides for any literal setting below, e.g. { "ACR_MAX_CONCURRENCY": "16" }. Values are strings.')
param settingOverrides object = {}
@description('Entra ID audience of ACR tokens (sovereign clouds differ).')
param acrAudience string = 'https://containerregistry.azure.net'

@description('Client ID of the Entra app registration that defines the app roles Streaming.Read/Write/Admin.')
param authClientId string
@description('Extra token audiences accepted besides api://{authClientId} and {authClientId}.')
param authAllowedAudiences array = []

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (the app has no system identity).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

var keyVaultReferences = toObject(alertSecretSettings, entry => entry.setting, entry => '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${entry.secretName}/)')

resource appSettings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: site
  name: 'appsettings'
  properties: union(
    {
      // --- runtime (not the app's schema) -----------------------------------------------------------------------
      // Flex Consumption sets the runtime in functionAppConfig: FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION must NOT be app settings there.
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
      AzureWebJobsStorage__credential: 'managedidentity'
      // --- lib/config.ts configSettingNames ---------------------------------------------------------------------
      // AzureWebJobsStorage (a connection string) is deliberately absent: the account has shared keys disabled
      // and the host and the app use the identity-based settings below.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__blobServiceUri: blobEndpoint
      AzureWebJobsStorage__queueServiceUri: queueEndpoint
      AzureWebJobsStorage__tableServiceUri: tableEndpoint
      AzureWebJobsStorage__clientId: identityClientId
      STORAGE_PREFIX: storagePrefix
      REGISTRIES: registriesSetting
      ARM_ENDPOINT: environment().resourceManager
      ACR_AUDIENCE: acrAudience
      AZURE_CLIENT_ID: identityClientId
      DEFAULT_POLICY: defaultPolicy
      TRACKING_FIRST_POLL_SECONDS: '10'
      TRACKING_MAX_POLL_SECONDS: '300'
      CONVERSION_LEASE_SECONDS: '120'
      SWEEPER_SCHEDULE: '0 */5 * * * *'
      SWEEPER_QUIET_SECONDS: '600'
      NATIVE_PICKUP_SECONDS: '120'
      ACR_MAX_CONCURRENCY: '8'
      ACR_SHARED_THROTTLE: 'true'
      ALERT_CHANNELS: alertChannels
      ALERTS_DRY_RUN: 'false'
      ALERT_MAX_ATTEMPTS: '8'
      ALERT_DEDUP_WINDOW_SECONDS: '3600'
      ALERT_BURST_WINDOW_SECONDS: '300'
      ALERT_BURST_THRESHOLD: '3'
      ALERT_RELAY_SCHEDULE: '0 */2 * * * *'
      ALERT_RELAY_GRACE_SECONDS: '60'
      APP_BASE_URL: 'https://${site.properties.defaultHostName}'
      AUDIT_SCHEDULE: '0 0 * * * *'
      AUDIT_REVERIFY_SECONDS: '604800'
      AUDIT_REQUEST_BUDGET: '5000'
      AUDIT_BACKFILL_BUDGET: '50'
      CONNECTED_AUDIT_SCHEDULE: '0 */15 * * * *'
      CONNECTED_STALE_MINUTES: '0'
      CONSUMER_SCOPES: consumerScopes
      CONSUMER_AUDIT_SCHEDULE: '0 */30 * * * *'
      REPORT_SCHEDULE: '0 0 6 * * *'
      BACKFILL_RUN_INTERVAL_SECONDS: '60'
    },
    keyVaultReferences,
    settingOverrides
  )
}

// App Service Authentication (Easy Auth), Entra ID. It validates bearer tokens issued for the operator's app
// registration, strips any incoming x-ms-client-principal and sets its own (base64 JSON with the token's claims,
// including `roles`), which lib/http/principal.ts reads. Every path needs a token except the excluded ones:
//   /api/health and /api/openapi.json (anonymous / key only by design), and the Event Grid webhook (Event Grid
//   delivers with the eventgrid_extension system key, not an Entra token). The webhook is listed in both spellings
//   Microsoft Learn gives it (azure-functions/event-grid-how-tos, "Webhook endpoint URL": the URL pattern
//   /runtime/webhooks/eventgrid, and the note "the path for the Event Grid trigger is /runtime/webhooks/EventGrid"),
//   because excludedPaths is not documented to ignore case (docs/assumptions.md A9).
// /api/health/details is not excluded: it needs a token (Streaming.Read). An entry matches its path only, not the
// paths below it: a subtree takes a trailing `/*` (Microsoft's answer in MicrosoftDocs/azure-docs#86514; A13).
// Function keys are still required on top (authLevel 'function'), as the README's API section says.
resource auth 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/api/health'
        '/api/openapi.json'
        '/runtime/webhooks/eventgrid'
        '/runtime/webhooks/EventGrid'
      ]
    }
    httpSettings: {
      requireHttps: true
      routes: { apiPrefix: '/.auth' }
      forwardProxy: { convention: 'NoProxy' }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: concat(['api://${authClientId}', authClientId], authAllowedAudiences)
        }
      }
    }
    login: {
      // API only: callers present bearer tokens; no browser sessions are kept.
      tokenStore: { enabled: false }
    }
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output uri string = 'https://${site.properties.defaultHostName}'
