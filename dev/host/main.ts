import { readFileSync } from 'node:fs';
import { bindingSettings, ConfigurationError, loadConfig } from '../../lib/config.js';
import { isHttpFunction } from '../../lib/hosting/catalog.js';
import { catalog } from '../../functions/catalog.js';
import { startLocalHost, queueSettingsFromHostJson } from './host.js';
import { clientPrincipalTrust, hostKeysFrom, readLocalSettings, trustClientPrincipalSetting } from './settings.js';

/**
 * `func start` for this repo: applies local.settings.json, serves the catalog, and on SIGINT/SIGTERM stops taking
 * work, finishes what is in flight and exits 0. An invalid configuration is reported but does not stop the host, as
 * in Azure: every invocation then fails with it (`/api/health` answers 503 `degraded`, `/api/health/details` names
 * the problems), and a trigger whose `%SETTING%` default could not be derived fails indexing.
 */
async function main(): Promise<void> {
  const directory = process.cwd();
  const local = readLocalSettings(directory);
  for (const [name, value] of Object.entries(local.values)) process.env[name] ??= value;
  try {
    const config = loadConfig(process.env);
    for (const [name, value] of Object.entries(bindingSettings(config))) process.env[name] ??= value;
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    process.stderr.write(`${error.message}\nThe host starts anyway; every invocation fails until this is fixed.\n`);
  }
  const keys = hostKeysFrom(process.env);
  const hostJson = JSON.parse(readFileSync('host.json', 'utf8')) as unknown;
  const port = Number(process.env.LOCAL_HOST_PORT ?? local.localHttpPort ?? 7071);
  const trust = clientPrincipalTrust(process.env);
  const trustClientPrincipal = trust.trusted;
  // The real host's setting: timer schedule status (and locks) are kept per host id.
  const hostId = process.env.AzureFunctionsWebHost__hostid ?? 'localhost';
  const host = await startLocalHost({
    catalog,
    env: process.env,
    keys,
    port,
    hostId,
    queueSettings: queueSettingsFromHostJson(hostJson),
    trustClientPrincipal,
  });
  if (trust.ignored !== undefined) process.stdout.write(`\n${trust.ignored}; the host drops the header.\n`);
  if (trustClientPrincipal) {
    process.stdout.write(
      `\n*** WARNING: ${trustClientPrincipalSetting}=true — this host trusts x-ms-client-principal headers from ANY caller.\n` +
        '*** Anyone who can reach it can act as any identity with any role. Sandbox use only; never expose it.\n',
    );
  }

  process.stdout.write(`\nFunctions:\n`);
  for (const declaration of catalog) {
    const where = isHttpFunction(declaration)
      ? `[${declaration.trigger.methods.join(',')}] ${host.url}/api/${declaration.trigger.route}`
      : `${declaration.trigger.type}`;
    process.stdout.write(`  ${declaration.name}: ${where}\n`);
  }
  if (keys.generated.length > 0)
    process.stdout.write(`\nGenerated for this run (not set): ${keys.generated.join(', ')}\n`);
  process.stdout.write(`\nHost started on ${host.url}\n`);
  process.send?.({ type: 'ready', url: host.url });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping; waiting for ${host.runner.inFlightCount} invocation(s) in flight\n`);
    void host.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

await main();
