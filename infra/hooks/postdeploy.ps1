# azd postdeploy hook (Windows / pwsh): same as postdeploy.sh. After the code is deployed, create (or update) one
# Event Grid system topic per registry and its subscription to onRegistryEvent (infra/eventgrid.bicep).
$ErrorActionPreference = 'Stop'

function Get-AzdValue([string]$Name) {
  $value = azd env get-value $Name 2>$null
  if ($LASTEXITCODE -ne 0) { return '' }
  return ($value | Out-String).Trim()
}

$targets = Get-AzdValue 'REGISTRY_TARGETS'
if (-not $targets -or $targets -eq '[]') {
  Write-Host "postdeploy: no registries configured (infra/main.parameters.json 'registries'); no Event Grid subscriptions created."
  exit 0
}

$values = @{}
foreach ($name in 'AZURE_LOCATION', 'AZURE_FUNCTION_APP_ID', 'AZURE_USER_ASSIGNED_IDENTITY_ID', 'AZURE_STORAGE_ACCOUNT_ID', 'EVENTGRID_DEADLETTER_CONTAINER') {
  $values[$name] = Get-AzdValue $name
  if (-not $values[$name]) { throw "postdeploy: azd output $name is missing; run 'azd provision' first." }
}
$envName = Get-AzdValue 'AZURE_ENV_NAME'
if (-not $envName) { $envName = 'acr-streaming' }

$parameters = @{
  '$schema' = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
  contentVersion = '1.0.0.0'
  parameters = @{
    registryTargets = @{ value = ($targets | ConvertFrom-Json) }
    functionAppId = @{ value = $values['AZURE_FUNCTION_APP_ID'] }
    identityId = @{ value = $values['AZURE_USER_ASSIGNED_IDENTITY_ID'] }
    deadLetterStorageAccountId = @{ value = $values['AZURE_STORAGE_ACCOUNT_ID'] }
    deadLetterContainerName = @{ value = $values['EVENTGRID_DEADLETTER_CONTAINER'] }
  }
}
$file = New-TemporaryFile
try {
  # @() keeps a one-registry list an array (ConvertFrom-Json unwraps single-element arrays in pipelines).
  $parameters.parameters.registryTargets.value = @($parameters.parameters.registryTargets.value)
  $parameters | ConvertTo-Json -Depth 10 | Set-Content -Path $file -Encoding utf8
  Write-Host "postdeploy: subscribing onRegistryEvent to ImagePushed/ImageDeleted of: $targets"
  az deployment sub create `
    --name "eventgrid-$envName" `
    --location $values['AZURE_LOCATION'] `
    --template-file (Join-Path $PSScriptRoot '..' 'eventgrid.bicep') `
    --parameters "@$file" `
    --output none
  if ($LASTEXITCODE -ne 0) { throw 'postdeploy: az deployment sub create failed.' }
  Write-Host 'postdeploy: Event Grid subscriptions in place.'
} finally {
  Remove-Item -Path $file -ErrorAction SilentlyContinue
}
