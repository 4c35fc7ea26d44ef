// Deployed at one registry's resource group, AFTER the code is deployed (the subscription validates that the
// function onRegistryEvent exists): the registry's Event Grid system topic and its subscription to the function.
// A registry can have only one system topic (Microsoft Learn, event-grid/system-topics: "only one system topic is
// allowed per Azure resource"). The postdeploy hook (scripts/postdeploy.ts) looks for it first: when one exists it
// passes its name with useExistingSystemTopic, and the topic is only referenced, never PUT, so its identity and its
// other subscriptions stay as they are. Re-running is safe: the subscription and role assignment PUTs are
// idempotent.
targetScope = 'resourceGroup'

param registryName string
param systemTopicName string
@description('The registry already has this system topic: subscribe to it without replacing it (or its identity).')
param useExistingSystemTopic bool = false
@description('Existing topic only: it already carries identityId, so dead-lettering can use it; otherwise no dead letter.')
param existingTopicHasIdentity bool = false
@description('Principal ID of the app\'s identity: Reader on the system topic, for the readiness check of the report.')
param principalId string
param subscriptionName string
@description('Resource ID of the function app (the subscription targets {app}/functions/{functionName}).')
param functionAppId string
@description('The Event Grid function of functions/catalog.ts that receives ACR events.')
param functionName string = 'onRegistryEvent'
@description('User-assigned identity Event Grid uses to write dead letters (it holds Storage Blob Data Owner on the app\'s account).')
param identityId string
param deadLetterStorageAccountId string
param deadLetterContainerName string
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440
@minValue(1)
@maxValue(5000)
param maxEventsPerBatch int = 1

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = if (!useExistingSystemTopic) {
  name: systemTopicName
  location: registry.location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    source: registry.id
    topicType: 'Microsoft.ContainerRegistry.Registries'
  }
}

// The topic, whether created above or already there.
resource anyTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

var deadLetter = !useExistingSystemTopic || existingTopicHasIdentity

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: anyTopic
  name: subscriptionName
  dependsOn: [topic]
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${functionName}'
        // The handler processes one event per invocation; batching only delays the retry of a whole batch.
        maxEventsPerBatch: maxEventsPerBatch
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.ContainerRegistry.ImagePushed'
        'Microsoft.ContainerRegistry.ImageDeleted'
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // Undeliverable events (retries exhausted, TTL passed, 400/413) land as JSON blobs in the app's account:
    // {container}/{topic}/{subscription}/yyyy/MM/dd/HH/{guid}.json. Replay: docs/operations.md.
    // An existing topic without the app's identity cannot dead-letter with it: events that exhaust their retries
    // are then dropped (docs/operations.md § Deploy twice says how to add the identity).
    deadLetterWithResourceIdentity: !deadLetter ? null : {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: identityId
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

// Reader on this topic only (not its resource group): lib/registry/event-subscription.ts reads the topic and its
// subscriptions for the report's readiness column.
resource topicReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(anyTopic.id, principalId, 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
  scope: anyTopic
  dependsOn: [topic]
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
  }
}

output systemTopicId string = anyTopic.id
output subscriptionId string = subscription.id
