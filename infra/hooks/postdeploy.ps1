# azd postdeploy hook (Windows / pwsh): same as postdeploy.sh. Subscribes onRegistryEvent to each registry's events
# through scripts/postdeploy.ts (azd's own login; an existing system topic is used as it is; safe to run again).
$ErrorActionPreference = 'Stop'
Set-Location (Join-Path $PSScriptRoot '..' '..')
npx tsx scripts/postdeploy.ts
if ($LASTEXITCODE -ne 0) { throw 'postdeploy: scripts/postdeploy.ts failed.' }
