#!/bin/sh
# azd postdeploy hook: after the code is deployed, subscribe onRegistryEvent to each registry's ImagePushed and
# ImageDeleted events (infra/eventgrid.bicep, deployed by scripts/postdeploy.ts). Event Grid validates an
# AzureFunction destination against the deployed function, which is why this cannot be part of `azd provision`.
# Uses azd's own login (azd auth token), finds a registry's existing system topic and uses it as it is, and is
# safe to run again (docs/operations.md § Deploy, remove, deploy again).
set -eu
cd "$(dirname "$0")/../.."
exec npx tsx scripts/postdeploy.ts
