import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Timer } from '@azure/functions';
import { storageFromConnectionString, type StorageSettings } from '../../lib/config.js';
import { isQueueFunction, isTimerFunction, type FunctionDeclaration } from '../../lib/hosting/catalog.js';
import type { StorageClients } from '../../lib/storage/clients.js';
import { devStorageClients } from '../storage-clients.js';
import { answerClientError, createHttpFront } from './http-front.js';
import { consoleLogSink, InvocationRunner, type HostLogSink } from './invocation.js';
import type { HostKeys } from './keys.js';
import {
  defaultQueueSettings,
  startQueueListener,
  type QueueHostSettings,
  type QueueListener,
} from './queue-listener.js';
import { resolveBindingExpression, resolveSchedule } from './ncrontab.js';
import { startTimer, type RunningTimer } from './timer-scheduler.js';

export interface LocalHostOptions {
  readonly catalog: readonly FunctionDeclaration[];
  /** App settings as the functions see them (queue connections and `%SETTING%` schedules resolve here). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly keys: HostKeys;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly bindAddress?: string;
  readonly hostId?: string;
  readonly queueSettings?: Partial<QueueHostSettings>;
  readonly log?: HostLogSink;
  /** Start queue listeners and timers (tests of the HTTP side alone may turn them off). */
  readonly startTriggers?: boolean;
  /** See HttpFrontOptions.trustClientPrincipal. */
  readonly trustClientPrincipal?: boolean;
  /** See HttpFrontOptions.responseTimeoutMs (Azure: 230 s). */
  readonly httpResponseTimeoutMs?: number;
}

export interface LocalHost {
  readonly url: string;
  readonly port: number;
  /** Emits `invocation` after every function call; tests await it instead of sleeping. */
  readonly runner: InvocationRunner;
  /** Stops taking work (HTTP, polling, timers), waits for invocations in flight, then closes. */
  close(): Promise<void>;
}

/**
 * A local Functions host for the catalog: HTTP, Event Grid, queue and timer triggers with the real host's
 * conventions, so the sandbox and the tests run exactly the declarations Azure runs.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? consoleLogSink;
  const runner = new InvocationRunner(log);
  const hostId = options.hostId ?? 'localhost';
  const queueSettings = { ...defaultQueueSettings, ...options.queueSettings };
  const connections = new Map<string, StorageClients>();
  const storageFor = (connection: string): StorageClients => {
    let clients = connections.get(connection);
    if (clients === undefined) {
      clients = devStorageClients(resolveConnection(options.env, connection));
      connections.set(connection, clients);
    }
    return clients;
  };

  const timers = new Map<string, RunningTimer>();
  /** Functions that failed indexing (an unresolved `%SETTING%`, a connection that is not configured): disabled. */
  const functionErrors = new Map<string, string>();
  const indexingFailed = (name: string, error: unknown): void => {
    const reason = error instanceof Error ? error.message : String(error);
    const message = `The '${name}' function is in error: Microsoft.Azure.WebJobs.Host: Error indexing method 'Functions.${name}'. Microsoft.Azure.WebJobs.Host: ${reason}`;
    functionErrors.set(name, message);
    const time = new Date().toISOString();
    log({
      time,
      level: 'error',
      category: 'Host.Startup',
      message: `Function 'Functions.${name}' failed indexing and will be disabled.`,
    });
    log({ time, level: 'error', category: 'Host.Startup', message });
  };
  const listeners: QueueListener[] = [];
  const invokeNonHttp = async (declaration: FunctionDeclaration, input: string | undefined): Promise<void> => {
    const trigger = declaration.trigger.type;
    if (isTimerFunction(declaration)) {
      const timer = timers.get(declaration.name);
      if (timer) return timer.invokeNow();
      const value: Timer = {
        isPastDue: false,
        schedule: { adjustForDST: true },
        scheduleStatus: { last: '', next: '', lastUpdated: '' },
      };
      await runner.invoke(declaration.name, 'timerTrigger', { timer: value }, (context) =>
        declaration.handler(value, context),
      );
      return;
    }
    const value = parseInput(input);
    await runner.invoke(declaration.name, `${trigger}Trigger`, {}, (context) =>
      (declaration.handler as (input: unknown, ctx: typeof context) => unknown)(value, context),
    );
  };

  const server: Server = createServer(
    createHttpFront({
      catalog: options.catalog,
      keys: options.keys,
      runner,
      log,
      invokeNonHttp,
      functionErrors,
      trustClientPrincipal: options.trustClientPrincipal ?? false,
      ...(options.httpResponseTimeoutMs === undefined ? {} : { responseTimeoutMs: options.httpResponseTimeoutMs }),
    }),
  );
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7071, options.bindAddress ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  if (options.startTriggers ?? true) {
    for (const declaration of options.catalog) {
      // Resolving a trigger's settings is indexing: a failure disables that function only, as in Azure.
      let resolved: { queueName?: string; schedule?: string; storage?: StorageClients };
      try {
        resolved = isQueueFunction(declaration)
          ? {
              storage: storageFor(declaration.trigger.connection),
              queueName: resolveBindingExpression(declaration.trigger.queueName, options.env),
            }
          : isTimerFunction(declaration)
            ? {
                storage: storageFor('AzureWebJobsStorage'),
                schedule: resolveSchedule(declaration.trigger.schedule, options.env),
              }
            : {};
      } catch (error) {
        indexingFailed(declaration.name, error);
        continue;
      }
      if (isQueueFunction(declaration) && resolved.storage && resolved.queueName) {
        const queue = resolved.storage.queue(resolved.queueName);
        const poison = resolved.storage.queue(`${resolved.queueName}-poison`);
        await Promise.all([queue.createIfNotExists(), poison.createIfNotExists()]);
        listeners.push(startQueueListener(declaration, queue, poison, queueSettings, runner, log));
      } else if (isTimerFunction(declaration) && resolved.storage && resolved.schedule) {
        const container = await resolved.storage.container('azure-webjobs-hosts');
        await container.createIfNotExists();
        timers.set(
          declaration.name,
          await startTimer(declaration, resolved.schedule, { hostId, statusContainer: container, runner, log }),
        );
      }
    }
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${options.bindAddress ?? '127.0.0.1'}:${port}`,
    port,
    runner,
    close() {
      closing ??= (async () => {
        for (const timer of timers.values()) timer.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all(listeners.map((listener) => listener.stop()));
        await runner.drain();
        await closed;
      })();
      return closing;
    },
  };
}

/** Resolves a trigger's `connection` the way the host does: a connection string, or `{name}__accountName` etc. */
export function resolveConnection(env: Readonly<Record<string, string | undefined>>, name: string): StorageSettings {
  const connectionString = env[name];
  if (connectionString !== undefined && connectionString !== '') {
    const settings = storageFromConnectionString(connectionString);
    if (typeof settings === 'string') throw new Error(`connection ${name}: ${settings}`);
    return settings;
  }
  const account = env[`${name}__accountName`];
  const uri = (service: string): string | undefined =>
    env[`${name}__${service}ServiceUri`] ?? (account ? `https://${account}.${service}.core.windows.net` : undefined);
  const blob = uri('blob');
  const queue = uri('queue');
  const table = uri('table');
  if (!blob || !queue || !table)
    throw new Error(`connection ${name} is not configured (set ${name} or ${name}__accountName)`);
  const clientId = env[`${name}__clientId`];
  return {
    kind: 'identity',
    blobServiceUri: blob,
    queueServiceUri: queue,
    tableServiceUri: table,
    ...(clientId ? { clientId } : {}),
  };
}

function parseInput(input: string | undefined): unknown {
  if (input === undefined) return undefined;
  try {
    return JSON.parse(input) as unknown;
  } catch {
    return input;
  }
}

/** host.json durations are `hh:mm:ss`. */
export function parseHostDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(value);
  if (!match) return undefined;
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
}

/** Reads `extensions.queues` from a parsed host.json. */
export function queueSettingsFromHostJson(hostJson: unknown): Partial<QueueHostSettings> {
  const queues =
    (hostJson as { extensions?: { queues?: Record<string, unknown> } } | undefined)?.extensions?.queues ?? {};
  const settings: { -readonly [K in keyof QueueHostSettings]?: QueueHostSettings[K] } = {};
  if (typeof queues.batchSize === 'number') settings.batchSize = queues.batchSize;
  if (typeof queues.newBatchThreshold === 'number') settings.newBatchThreshold = queues.newBatchThreshold;
  if (typeof queues.maxDequeueCount === 'number') settings.maxDequeueCount = queues.maxDequeueCount;
  const polling = parseHostDuration(queues.maxPollingInterval);
  if (polling !== undefined) settings.maxPollingIntervalMs = polling;
  const visibility = parseHostDuration(queues.visibilityTimeout);
  if (visibility !== undefined) settings.visibilityTimeoutMs = visibility;
  if (queues.messageEncoding === 'none' || queues.messageEncoding === 'base64')
    settings.messageEncoding = queues.messageEncoding;
  return settings;
}
