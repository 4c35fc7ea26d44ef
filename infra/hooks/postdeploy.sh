#!/bin/sh
# azd postdeploy hook: after the code is deployed, create (or update) one Event Grid system topic per registry and
# its subscription to the function onRegistryEvent (infra/eventgrid.bicep). Event Grid validates an AzureFunction
# destination against the deployed function, which is why this cannot be part of `azd provision`.
# Idempotent: re-running it re-applies the same topics and subscriptions.
set -eu

value() { azd env get-value "$1" 2>/dev/null || true; }

TARGETS=$(value REGISTRY_TARGETS)
if [ -z "$TARGETS" ] || [ "$TARGETS" = "[]" ]; then
  echo "postdeploy: no registries configured (infra/main.parameters.json 'registries'); no Event Grid subscriptions created."
  exit 0
fi

LOCATION=$(value AZURE_LOCATION)
APP_ID=$(value AZURE_FUNCTION_APP_ID)
IDENTITY_ID=$(value AZURE_USER_ASSIGNED_IDENTITY_ID)
STORAGE_ID=$(value AZURE_STORAGE_ACCOUNT_ID)
DEADLETTER=$(value EVENTGRID_DEADLETTER_CONTAINER)
ENV_NAME=$(value AZURE_ENV_NAME)

for required in LOCATION APP_ID IDENTITY_ID STORAGE_ID DEADLETTER; do
  eval "v=\${$required}"
  # shellcheck disable=SC2154
  if [ -z "$v" ]; then echo "postdeploy: azd output $required is missing; run 'azd provision' first." >&2; exit 1; fi
done

PARAMS=$(mktemp)
trap 'rm -f "$PARAMS"' EXIT
cat >"$PARAMS" <<JSON
{
  "\$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "registryTargets": { "value": $TARGETS },
    "functionAppId": { "value": "$APP_ID" },
    "identityId": { "value": "$IDENTITY_ID" },
    "deadLetterStorageAccountId": { "value": "$STORAGE_ID" },
    "deadLetterContainerName": { "value": "$DEADLETTER" }
  }
}
JSON

echo "postdeploy: subscribing onRegistryEvent to ImagePushed/ImageDeleted of: $(printf '%s' "$TARGETS" | tr -d '\n')"
az deployment sub create \
  --name "eventgrid-${ENV_NAME:-acr-streaming}" \
  --location "$LOCATION" \
  --template-file "$(dirname "$0")/../eventgrid.bicep" \
  --parameters "@$PARAMS" \
  --output none
echo "postdeploy: Event Grid subscriptions in place."
