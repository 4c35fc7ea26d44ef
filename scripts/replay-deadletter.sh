#!/bin/sh
# Re-deliver Event Grid dead letters (events Event Grid gave up on) to onRegistryEvent.
#   scripts/replay-deadletter.sh <resource-group> <function-app> <storage-account> <container> [blob-prefix]
#   e.g. scripts/replay-deadletter.sh rg-prod func-abc123 stabc123 streaming-eventgrid-deadletter EVGT-MYREG/
# Dead-letter blobs are JSON arrays of Event Grid events plus deadLetterReason, deliveryAttempts,
# lastDeliveryOutcome, …; this strips those fields and POSTs each event to the Event Grid webhook of the
# function with the eventgrid_extension system key (the path App Service Authentication exempts). The handler is
# idempotent: an event for an image that already has a conversion record is a no-op.
# Needs: az login with Storage Blob Data Contributor on the account (it moves replayed blobs) and permission to
# list the app's host keys.
# Replayed blobs are moved under replayed/ so a second run does not send them again.
set -eu
RG=${1:?resource group}
APP=${2:?function app name}
ACCOUNT=${3:?storage account}
CONTAINER=${4:?dead-letter container}
PREFIX=${5:-}
HOST=$(az functionapp show -g "$RG" -n "$APP" --query defaultHostName -o tsv)
KEY=$(az functionapp keys list -g "$RG" -n "$APP" --query "systemKeys.eventgrid_extension" -o tsv)
[ -n "$KEY" ] || { echo "no eventgrid_extension system key: is the code deployed?" >&2; exit 1; }
URL="https://${HOST}/runtime/webhooks/eventgrid?functionName=onRegistryEvent&code=${KEY}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
blobs=$(az storage blob list --auth-mode login --account-name "$ACCOUNT" --container-name "$CONTAINER" \
  --prefix "$PREFIX" --query "[?!starts_with(name, 'replayed/')].name" -o tsv)
sent=0
for blob in $blobs; do
  az storage blob download --auth-mode login --account-name "$ACCOUNT" --container-name "$CONTAINER" \
    --name "$blob" --file "$WORK/events.json" --output none
  jq 'if type == "array" then . else [.] end
      | map(del(.deadLetterReason, .deliveryAttempts, .lastDeliveryOutcome, .lastHttpStatusCode,
                .publishTime, .lastDeliveryAttemptTime))' "$WORK/events.json" >"$WORK/body.json"
  status=$(curl -sS -o "$WORK/response" -w '%{http_code}' -X POST "$URL" \
    -H 'content-type: application/json' -H 'aeg-event-type: Notification' --data @"$WORK/body.json")
  if [ "$status" -ge 200 ] && [ "$status" -lt 300 ]; then
    az storage blob upload --auth-mode login --account-name "$ACCOUNT" --container-name "$CONTAINER" \
      --name "replayed/$blob" --file "$WORK/events.json" --overwrite --output none
    az storage blob delete --auth-mode login --account-name "$ACCOUNT" --container-name "$CONTAINER" \
      --name "$blob" --output none
    sent=$((sent + 1))
    echo "replayed $blob ($status)"
  else
    echo "FAILED $blob: HTTP $status $(head -c 300 "$WORK/response")" >&2
  fi
done
echo "replay-deadletter: $sent blob(s) replayed"
