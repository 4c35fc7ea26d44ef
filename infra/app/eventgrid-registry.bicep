// Deployed at one registry's resource group, AFTER the code is deployed (the subscription validates that the
// function onRegistryEvent exists): the registry's Event Grid system topic and its subscription to the function.
// A registry can have only one system topic: if it already has one, pass its name as systemTopicName (a PUT with
// the same name and source is idempotent and keeps its other subscriptions).
targetScope = 'resourceGroup'

param registryName string
param systemTopicName string
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

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
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

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: subscriptionName
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
    deadLetterWithResourceIdentity: {
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

output systemTopicId string = topic.id
output subscriptionId string = subscription.id
