import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { devStorageClients } from './storage-clients.js';
import { provisionStorage } from '../lib/storage/provision.js';
import { storageResourceNames } from '../lib/storage/resources.js';
import { loadConfig, ConfigurationError } from '../lib/config.js';
import { catalog } from '../functions/catalog.js';
import { isEventGridFunction } from '../lib/hosting/catalog.js';
import { startAzurite, stopChild, type RunningAzurite } from './azurite.js';
import { SANDBOX_CLUSTERS } from './emulator/arm/aks-seed.js';
import { startSandboxEmulator, type SandboxEmulator } from './emulator/sandbox.js';
import {
  clientPrincipalTrust,
  generateKey,
  hostKeySettings,
  readLocalSettings,
  trustClientPrincipalSetting,
} from './host/settings.js';
import { sandboxHost, writeSandboxFile, type SandboxFile } from './sandbox-file.js';

/**
 * `npm start`: the whole product on one machine. Starts Azurite (unless storage is configured), creates the
 * app's tables, queues and containers, starts the local Functions host as a child process with the app
 * settings, writes .sandbox/sandbox.json and prints where everything is. Ctrl-C stops it all cleanly.
 *
 * Unless REGISTRIES is configured, it also starts the emulated cloud (dev/emulator: ACR, Entra ID, ARM, Event
 * Grid) with seed data, points the app at it through app settings only, and subscribes the app's Event Grid
 * functions to the registry's events.
 *
 * Flags: --in-memory (Azurite keeps nothing on disk), --port N (host port, default 7071).
 */
/** SANDBOX_DIR moves the sandbox's files (tests use it to stay out of a developer's running sandbox). */
const sandboxDirectory = resolve(process.env.SANDBOX_DIR ?? '.sandbox');
const stopping: Array<() => Promise<void>> = [];
let shuttingDown = false;

/** Stops what was started, newest first, so a failed start never leaves Azurite or the host behind. */
async function shutdown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    for (const stop of stopping.reverse()) await stop().catch(() => undefined);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  mkdirSync(sandboxDirectory, { recursive: true });
  const local = readLocalSettings(process.cwd());
  const env: Record<string, string | undefined> = { ...local.values, ...process.env };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const port = flags.port ?? Number(env.LOCAL_HOST_PORT ?? local.localHttpPort ?? 7071);
  // Before anything starts: a taken port is one line and a suggestion, not a stack trace after Azurite came up.
  if (port !== 0 && !(await portIsFree(port))) {
    process.stderr.write(
      `Port ${port} is already in use (another sandbox?); start on another: npm start -- --port ${port + 1}\n`,
    );
    return shutdown(1);
  }
  const emulated = !env.REGISTRIES;

  let azurite: RunningAzurite | undefined;
  if (!env.AzureWebJobsStorage && !env.AzureWebJobsStorage__accountName) {
    // The emulated registry keeps nothing between starts, so the app's storage starts over with it: a table never
    // says Succeeded for an image the registry no longer has (issue #18 § 4). With real registries it persists.
    if (emulated && !flags.inMemory) rmSync(resolve(sandboxDirectory, 'azurite'), { recursive: true, force: true });
    azurite = await startEmbeddedAzurite(flags.inMemory);
    stopping.push(() => azurite!.stop());
    env.AzureWebJobsStorage = azurite.connectionString;
  }

  let emulator: SandboxEmulator | undefined;
  if (emulated) {
    // Seeded once the app listens (below), so the seed's pushes reach it as any push would.
    emulator = await startSandboxEmulator({ directory: sandboxDirectory, seed: false });
    stopping.push(() => emulator!.close());
    Object.assign(env, emulator.appSettings());
    // The sandbox converts every tagged push, so `npm start` shows the product working end to end.
    env.DEFAULT_POLICY ??= JSON.stringify({ mode: 'onPush', tags: { include: ['*'], exclude: [] } });
    // Lets sandbox users act as the admin principal from sandbox.json; the host warns about it loudly.
    env[trustClientPrincipalSetting] ??= 'true';
  }

  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      return shutdown(1);
    }
    throw error;
  }
  await provisionStorage(devStorageClients(config.storage), storageResourceNames(config.storagePrefix));

  const keys = persistentKeys();
  for (const [name, value] of Object.entries(keys)) env[name] ??= value;
  env.LOCAL_HOST_PORT = String(port);
  // Alerts and report.ready events link to the conversion and the report only under APP_BASE_URL (issue #18 § 6):
  // the sandbox's inbox shows those links working. A random port (0) is known only once the host listens.
  if (port !== 0) env.APP_BASE_URL ??= `http://127.0.0.1:${port}`;
  const host = await startHostProcess(env);
  // Everything stops within 10 s of a signal (issue #18 § 4): the host gets 6 s to finish, then is killed; Azurite
  // after it gets at most 5 s more, which a stopped host leaves it no reason to use.
  stopping.push(() => stopChild(host.child, 6_000));
  host.child.once('exit', (code) => {
    if (!shuttingDown) {
      process.stderr.write(`The local host exited (code ${code ?? 'null'}); stopping the sandbox.\n`);
      void shutdown(code ?? 1);
    }
  });

  if (emulator) {
    await subscribeEventGridFunctions(emulator, host.url, env[hostKeySettings.eventGridKey]!);
    // The seed's ImagePushed events go through Event Grid to the app, so the sandbox's policy has decided each seeded
    // image before the banner prints: the first GET …/conversions and the first report are not empty.
    await emulator.seed();
    await emulator.eventGrid.whenIdle();
  }

  const sandbox: SandboxFile = {
    host: sandboxHost(
      {
        url: host.url,
        functionKey: env[hostKeySettings.functionKey]!,
        masterKey: env[hostKeySettings.masterKey]!,
        eventGridKey: env[hostKeySettings.eventGridKey]!,
      },
      // The same reading the host makes of the setting, so the file never offers a header the host drops.
      clientPrincipalTrust(env),
    ),
    storage: {
      connectionString: env.AzureWebJobsStorage ?? '',
      embedded: azurite !== undefined,
      location: azurite ? (flags.inMemory ? 'memory' : resolve(sandboxDirectory, 'azurite')) : 'configured',
    },
    registries: (emulator?.emulator.registries ?? []).map((registry) => ({
      name: registry.name,
      loginServer: registry.loginServer,
      httpsUrl: registry.httpsUrl,
      pushAddress: registry.pushAddress,
      username: registry.username ?? '',
      password: registry.password ?? '',
      caFile: registry.caFile,
    })),
    emulator: {
      controlUrl: emulator?.emulator.controlUrl ?? '',
      managementUrl: emulator?.emulator.managementUrl ?? '',
      caFile: emulator?.emulator.caFile ?? '',
    },
  };
  const file = writeSandboxFile(sandboxDirectory, sandbox);
  printSummary(sandbox, file, azurite);
}

/**
 * What azd's post-deploy hook does in Azure: an Event Grid subscription per registry to each Event Grid function,
 * with the system key in the URL. The emulator runs the validation handshake against the host first.
 */
async function subscribeEventGridFunctions(
  emulator: SandboxEmulator,
  hostUrl: string,
  eventGridKey: string,
): Promise<void> {
  for (const declaration of catalog.filter(isEventGridFunction)) {
    for (const registry of emulator.emulator.registries) {
      await emulator.eventGrid.createSubscription({
        name: `${registry.name}-${declaration.name}`,
        registry: registry.name,
        endpoint: `${hostUrl}/runtime/webhooks/eventgrid?functionName=${declaration.name}&code=${encodeURIComponent(eventGridKey)}`,
        includedEventTypes: ['Microsoft.ContainerRegistry.ImagePushed', 'Microsoft.ContainerRegistry.ImageDeleted'],
        deadLetterDirectory: resolve(sandboxDirectory, 'eventgrid-deadletters'),
      });
    }
  }
  await emulator.eventGrid.whenIdle();
}

function parseFlags(argv: readonly string[]): { inMemory: boolean; port: number | undefined } {
  const portIndex = argv.indexOf('--port');
  return { inMemory: argv.includes('--in-memory'), port: portIndex >= 0 ? Number(argv[portIndex + 1]) : undefined };
}

/** Whether nothing listens on the host's address and port (the host binds 127.0.0.1). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const probe = createServer();
    probe.once('error', () => answer(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => answer(true)));
  });
}

/** Azure's well-known ports when free (so Storage Explorer finds it), otherwise any free ones. */
async function startEmbeddedAzurite(inMemory: boolean): Promise<RunningAzurite> {
  const location = inMemory ? undefined : resolve(sandboxDirectory, 'azurite');
  try {
    return await startAzurite({ location, ports: { blob: 10000, queue: 10001, table: 10002 } });
  } catch {
    return startAzurite({ location });
  }
}

/** Host keys survive restarts, so scripts that read sandbox.json once keep working. */
function persistentKeys(): Record<string, string> {
  const file = resolve(sandboxDirectory, 'host-keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const keys = {
    [hostKeySettings.functionKey]: generateKey(),
    [hostKeySettings.masterKey]: generateKey(),
    [hostKeySettings.eventGridKey]: generateKey(),
  };
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

async function startHostProcess(
  env: Record<string, string | undefined>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(resolve('dev/host/main.ts'), [], {
    env,
    execArgv: ['--import', 'tsx'],
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'ready' && message.url) resolveUrl(message.url);
    });
    child.once('exit', (code) =>
      reject(new Error(`the local host exited with code ${code ?? 'null'} during start-up`)),
    );
  });
  return { child, url };
}

function printSummary(sandbox: SandboxFile, file: string, azurite: RunningAzurite | undefined): void {
  const lines = [
    '',
    'acr-streaming-autopilot sandbox is running',
    `  Functions host   ${sandbox.host.url}/api/health   (the API: ${sandbox.host.url}/api/openapi.json, with the key)`,
    `  Function key     in ${file} (host.functionKey); send as x-functions-key`,
    ...sandbox.registries.map(
      (registry) =>
        `  Registry         ${registry.name}: ${registry.httpsUrl}/v2/ (login server ${registry.loginServer}); push a test image with npm run sandbox:push -- team-a/app:v2, or with skopeo to ${registry.pushAddress} (--dest-tls-verify=false --dest-creds ${registry.username}:<password in sandbox.json>)`,
    ),
    ...(sandbox.emulator.controlUrl
      ? [
          `  Emulator control ${sandbox.emulator.controlUrl}/_emulator/  (CA: ${sandbox.emulator.caFile})`,
          `  Alert inbox      ${sandbox.emulator.controlUrl}/inbox  (what the webhook and Teams channels received)`,
        ]
      : []),
    `  Doctor           npx acr-streaming doctor team-a/app:v1 --cluster ${SANDBOX_CLUSTERS.mixed.id}`,
    `                   (seeded AKS clusters: ${Object.values(SANDBOX_CLUSTERS)
      .map((cluster) => cluster.name)
      .join(', ')}; the report's Consumers section lists them)`,
    azurite
      ? `  Storage          Azurite blob :${azurite.ports.blob}, queue :${azurite.ports.queue}, table :${azurite.ports.table}; data in ${sandbox.storage.location}`
      : '  Storage          as configured (AzureWebJobsStorage)',
    `  Everything above, machine-readable: ${file}`,
    '  Ctrl-C stops it all.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `npm start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  void shutdown(1);
});
