#!/bin/sh
# Move messages from a poison queue back to its queue, so the app processes them again.
#   scripts/replay-poison.sh <storage-account> <queue> [max-messages]
#   e.g. scripts/replay-poison.sh stabc123 streaming-tracking 32
# Uses your Entra identity (--auth-mode login): you need Storage Queue Data Contributor on the account.
# Fix the cause first (docs/operations.md): a message that fails again returns to the poison queue after
# maxDequeueCount (5) attempts. The message text is moved verbatim (the host's base64 JSON), so the app's
# handlers see exactly what they saw before; stale tracking messages are dropped by their token, duplicates
# are idempotent.
set -eu
ACCOUNT=${1:?storage account name}
QUEUE=${2:?queue name without -poison, e.g. streaming-tracking}
MAX=${3:-32}
POISON="${QUEUE}-poison"
moved=0
while [ "$moved" -lt "$MAX" ]; do
  # Take one message out of sight for 5 minutes; if this script dies, it reappears in the poison queue.
  message=$(az storage message get --auth-mode login --account-name "$ACCOUNT" --queue-name "$POISON" \
    --visibility-timeout 300 --num-messages 1 --output json)
  count=$(printf '%s' "$message" | jq 'length')
  [ "$count" -eq 0 ] && break
  id=$(printf '%s' "$message" | jq -r '.[0].id')
  receipt=$(printf '%s' "$message" | jq -r '.[0].popReceipt')
  content=$(printf '%s' "$message" | jq -r '.[0].content')
  az storage message put --auth-mode login --account-name "$ACCOUNT" --queue-name "$QUEUE" \
    --content "$content" --output none
  az storage message delete --auth-mode login --account-name "$ACCOUNT" --queue-name "$POISON" \
    --id "$id" --pop-receipt "$receipt" --output none
  moved=$((moved + 1))
  echo "moved $id from $POISON to $QUEUE"
done
echo "replay-poison: $moved message(s) moved from $POISON to $QUEUE"
