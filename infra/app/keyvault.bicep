// Key Vault in RBAC mode for alert-channel secrets (webhook URLs, Standard Webhooks signing secrets, Teams
// Workflows URLs, registry passwords). App settings reference them as @Microsoft.KeyVault(SecretUri=…); the app's
// identity reads them as Key Vault Secrets User (rbac.bicep). Operators write them (Key Vault Secrets Officer,
// granted outside this template: see docs/operations.md).
param name string
param location string
param tags object = {}
param enablePurgeProtection bool = false
@description('Days a deleted vault stays recoverable (7 to 90); its name is taken meanwhile unless purged.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 7

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Purge protection cannot be turned off once on; it keeps a deleted vault (and its name) for the retention
    // period: off by default so the environment can be removed and deployed again (main.bicep keyVaultPurgeProtection).
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
