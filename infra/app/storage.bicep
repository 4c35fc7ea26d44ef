// The app's own storage account: Functions host state (AzureWebJobsStorage, identity-based), the deployment
// package container of Flex Consumption, and every table, queue (with its -poison twin) and blob container the
// app owns. Names derive from STORAGE_PREFIX exactly as lib/storage/resources.ts derives them; a unit test
// (test/unit/infra/parity.test.ts) compares the two lists.
param name string
param location string
param tags object = {}
@description('STORAGE_PREFIX: prefix of every table, queue and container the app owns.')
@minLength(3)
@maxLength(20)
param prefix string
@description('Blob container Flex Consumption deploys the app package to.')
param deploymentContainerName string

// --- derived from lib/storage/resources.ts: storageResourceNames(prefix) ---------------------------------------
var tableNames = [
  '${prefix}Conversions'
  '${prefix}Policies'
  '${prefix}PolicyHistory'
  '${prefix}Outbox'
  '${prefix}Audits'
  '${prefix}Alerts'
  '${prefix}Throttle'
  '${prefix}Consumers'
]
// Every queue and its -poison twin (the host moves a message there after maxDequeueCount failures; creating the
// twin up front lets operators list it, and the alert rule watch it, before anything has failed).
var queueNames = [
  '${prefix}-tracking'
  '${prefix}-tracking-poison'
  '${prefix}-alerts'
  '${prefix}-alerts-poison'
  '${prefix}-backfill'
  '${prefix}-backfill-poison'
  '${prefix}-audits'
  '${prefix}-audits-poison'
]
var appContainerNames = [
  '${prefix}-reports'
]
// --- infrastructure-only containers (not app state) --------------------------------------------------------------
// Event Grid dead-letters events it could not deliver to onRegistryEvent here (see docs/operations.md).
var deadLetterContainerName = '${prefix}-eventgrid-deadletter'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    // Identity only: no account keys, no SAS signed with them, no anonymous blobs.
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
    dnsEndpointType: 'Standard'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // Reports and dead letters are operator evidence: keep deleted blobs recoverable for a week.
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource appContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in appContainerNames: {
    parent: blobService
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in queueNames: {
    parent: queueService
    name: queue
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for table in tableNames: {
    parent: tableService
    name: table
  }
]

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output deadLetterContainerName string = deadLetterContainer.name
output queueNames array = queueNames
output tableNames array = tableNames
output containerNames array = appContainerNames
