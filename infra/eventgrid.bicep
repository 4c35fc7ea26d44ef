// Second deployment, run by the azd postdeploy hook (infra/hooks/postdeploy.sh / .ps1) once the code is deployed:
// Event Grid cannot create an AzureFunction subscription before the function exists. One system topic and one
// subscription per target registry, each in the registry's own resource group and subscription.
//   az deployment sub create --location <region> --template-file infra/eventgrid.bicep --parameters …
targetScope = 'subscription'

@description('REGISTRY_TARGETS output of main.bicep: [{ name, resourceGroup, subscriptionId, systemTopicName }], with existingSystemTopic (bool) and existingTopicHasIdentity (bool) added by scripts/postdeploy.ts.')
param registryTargets array
@description('Principal ID of the app\'s user-assigned identity (Reader on each system topic).')
param principalId string
param functionAppId string
param identityId string
param deadLetterStorageAccountId string
param deadLetterContainerName string
param maxDeliveryAttempts int = 30
param eventTimeToLiveInMinutes int = 1440

module registryEvents 'app/eventgrid-registry.bicep' = [
  for target in registryTargets: {
    name: take('eventgrid-${target.name}-${uniqueString(target.subscriptionId, target.resourceGroup)}', 64)
    scope: resourceGroup(target.subscriptionId, target.resourceGroup)
    params: {
      registryName: target.name
      systemTopicName: target.systemTopicName
      useExistingSystemTopic: target.?existingSystemTopic ?? false
      existingTopicHasIdentity: target.?existingTopicHasIdentity ?? false
      principalId: principalId
      subscriptionName: 'acr-streaming-autopilot'
      functionAppId: functionAppId
      functionName: 'onRegistryEvent'
      identityId: identityId
      deadLetterStorageAccountId: deadLetterStorageAccountId
      deadLetterContainerName: deadLetterContainerName
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
  }
]

output EVENTGRID_SUBSCRIPTION_IDS array = [for (target, i) in registryTargets: registryEvents[i].outputs.subscriptionId]
