// The one user-assigned managed identity the function app runs as. Every role assignment in this template
// (storage, Key Vault, Application Insights, the registries) is granted to it, and to nothing else.
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
