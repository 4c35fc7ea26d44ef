import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild } from '../../dev/azurite.js';
import { storageFromConnectionString, type StorageSettings } from '../../lib/config.js';
import { createStorageClients } from '../../lib/storage/clients.js';
import { provisionStorage } from '../../lib/storage/provision.js';
import { storageResourceNames } from '../../lib/storage/resources.js';
import { buildTestImage, type TestImageKind } from '../../dev/emulator/registry/content.js';
import type { ConversionBehaviour } from '../../dev/emulator/registry/streaming-service.js';
import { startSandboxEmulator, type SandboxEmulator } from '../../dev/emulator/sandbox.js';
import { sandboxAdminPrincipal } from '../../dev/sandbox-file.js';
import type { RegistryOptions, StartedRegistry } from '../../dev/emulator/server.js';
import type { ConversionView } from '../../lib/conversion/api.js';
import { skopeo, writeOciLayout } from '../integration/emulator/helpers.js';
import { uniquePrefix } from './names.js';

export const hostKeys = { function: 'e2e-function-key', master: 'e2e-master-key', eventGrid: 'e2e-eventgrid-key' };

export interface HostProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the host printed: its log. */
  output(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export type ImageKind = TestImageKind;

/**
 * The product as it runs in the sandbox, for end-to-end tests: the emulated cloud, a real Azurite (the test run's),
 * and local Functions hosts as child processes configured only through app settings — so tests can kill and
 * restart them, and run two against the same storage.
 */
export class SandboxHarness {
  readonly hosts: HostProcess[] = [];
  private constructor(
    readonly emulator: SandboxEmulator,
    readonly registry: StartedRegistry,
    readonly workDir: string,
    /** The app settings every host of this harness gets. */
    readonly settings: Record<string, string>,
  ) {}

  static async start(options: {
    storageConnectionString: string;
    settings?: Record<string, string>;
    conversion?: Partial<ConversionBehaviour>;
    /** Registries besides the Premium `sandbox` one. */
    extraRegistries?: readonly RegistryOptions[];
    /** Event Grid deliveries in flight per subscription (default 1). */
    eventGridConcurrency?: number;
  }): Promise<SandboxHarness> {
    const workDir = await mkdtemp(join(tmpdir(), 'e2e-'));
    const registries = [{ name: 'sandbox', sku: 'Premium' as const }, ...(options.extraRegistries ?? [])];
    const emulator = await startSandboxEmulator({
      directory: workDir,
      eventGridTimeScale: 0.01,
      realTime: true,
      registries,
      ...(options.eventGridConcurrency ? { eventGridConcurrency: options.eventGridConcurrency } : {}),
    });
    await emulator.control.setStreamingBehaviour('sandbox', '*', {
      startDelayMs: 200,
      durationMs: 1_000,
      ...options.conversion,
    });
    const settings = {
      ...emulator.appSettings(),
      AzureWebJobsStorage: options.storageConnectionString,
      STORAGE_PREFIX: uniquePrefix('e'),
      DEFAULT_POLICY: JSON.stringify({ mode: 'onPush' }),
      TRACKING_FIRST_POLL_SECONDS: '1',
      TRACKING_MAX_POLL_SECONDS: '2',
      CONVERSION_LEASE_SECONDS: '10',
      SWEEPER_SCHEDULE: '*/2 * * * * *',
      SWEEPER_QUIET_SECONDS: '5',
      LOCAL_HOST_FUNCTION_KEY: hostKeys.function,
      LOCAL_HOST_MASTER_KEY: hostKeys.master,
      LOCAL_HOST_EVENTGRID_KEY: hostKeys.eventGrid,
      LOCAL_HOST_PORT: '0',
      LOCAL_HOST_TRUST_CLIENT_PRINCIPAL: 'true',
      // Timer schedule status is per host id; tests share one Azurite, so each harness gets its own.
      AzureFunctionsWebHost__hostid: uniquePrefix('h'),
      ...options.settings,
    };
    // As npm start (and in Azure, the Bicep) does: the app's tables and queues exist before the host starts.
    await provisionStorage(
      createStorageClients(storageFromConnectionString(settings.AzureWebJobsStorage) as StorageSettings),
      storageResourceNames(settings.STORAGE_PREFIX),
    );
    return new SandboxHarness(emulator, emulator.emulator.registry('sandbox'), workDir, settings);
  }

  /**
   * Starts a host and subscribes it to the registry's events, as `npm start` does.
   */
  async startHost(options: { subscribe?: boolean; root?: string } = {}): Promise<HostProcess> {
    // `root`: another checkout's code (bench/baseline.ts), run against this harness's emulator and storage.
    const root = options.root ?? process.cwd();
    const child = fork(join(root, 'dev/host/main.ts'), [], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      env: { PATH: process.env.PATH ?? '', HOME: this.workDir, ...this.settings },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.on(
        'message',
        (message: { type?: string; url?: string }) => message.type === 'ready' && message.url && resolve(message.url),
      );
      child.once('exit', (code) => reject(new Error(`host exited (${code ?? 'null'}) during start:\n${output}`)));
    });
    const host: HostProcess = {
      url,
      child,
      output: () => output,
      stop: () => stopChild(child, 10_000),
      kill: async () => {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      },
    };
    this.hosts.push(host);
    if (options.subscribe ?? true) {
      // createSubscription returns after the validation handshake. Waiting for the whole engine to be idle instead
      // also waited for deliveries to a host killed before this one, which Event Grid retries for minutes.
      const subscription = await this.emulator.eventGrid.createSubscription({
        name: `host-${this.hosts.length}-${Date.now()}`,
        endpoint: this.webhook(host),
      });
      if (subscription.provisioningState !== 'Succeeded')
        throw new Error(`the Event Grid subscription of ${host.url} is ${subscription.provisioningState}`);
    }
    return host;
  }

  webhook(host: HostProcess): string {
    return `${host.url}/runtime/webhooks/eventgrid?functionName=onRegistryEvent&code=${hostKeys.eventGrid}`;
  }

  /** Pushes a generated image with skopeo (plain HTTP, admin credentials) and returns its digest. */
  async push(
    repository: string,
    tag: string,
    kind: ImageKind = 'linux/amd64',
    label = `${repository}:${tag}:${Math.random()}`,
    registry = this.registry,
  ): Promise<string> {
    const built = buildTestImage(kind, label);
    const layout = await mkdtemp(join(this.workDir, 'layout-'));
    await writeOciLayout(layout, built, tag);
    const all = kind === 'index' ? ['--all'] : [];
    await skopeo(
      [
        'copy',
        ...all,
        '--dest-tls-verify=false',
        `--dest-creds=${registry.username}:${registry.password}`,
        `oci:${layout}:${tag}`,
        `docker://${registry.pushAddress}/${repository}:${tag}`,
      ],
      this.workDir,
    );
    return built.digest;
  }

  async api(host: HostProcess, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = {
      'x-functions-key': hostKeys.function,
      'x-ms-client-principal': sandboxAdminPrincipal(),
      ...(init.headers as Record<string, string> | undefined),
    };
    return fetch(`${host.url}/api${path}`, { ...init, headers });
  }

  async conversion(
    host: HostProcess,
    repository: string,
    digest: string,
    registry = 'sandbox',
  ): Promise<ConversionView | undefined> {
    const response = await this.api(
      host,
      `/registries/${registry}/conversions/${digest}?repository=${encodeURIComponent(repository)}`,
    );
    if (response.status === 404) return undefined;
    if (response.status !== 200)
      throw new Error(`GET conversion answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as ConversionView;
  }

  /**
   * Waits until the conversion reaches a state the predicate accepts, reading the API (state lives in another
   * process, so there is no event to await); fails with the last state seen and the host log.
   */
  async waitForConversion(
    host: HostProcess,
    repository: string,
    digest: string,
    done: (view: ConversionView) => boolean,
    timeoutMs = 30_000,
    registry = 'sandbox',
  ): Promise<ConversionView> {
    const deadline = Date.now() + timeoutMs;
    let last: ConversionView | undefined;
    while (Date.now() < deadline) {
      last = await this.conversion(host, repository, digest, registry);
      if (last && done(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    throw new Error(
      `conversion of ${repository}@${digest} did not settle; last state ${JSON.stringify(last)}\nhost log:\n${this.hosts
        .map((h) => h.output())
        .join('\n---\n')
        .slice(-6_000)}`,
    );
  }

  /**
   * Polls `probe` until it yields a value (state lives in other processes, so there is no event to await); fails
   * with the hosts' log tail.
   */
  async eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(
          `timed out\n${this.hosts
            .map((h) => h.output())
            .join('\n---\n')
            .slice(-3_000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Conversion requests the registry received for a digest (the emulator's request log). */
  async conversionPosts(repository: string, digest: string): Promise<number> {
    return (
      await this.emulator.control.requests({ method: 'POST', path: `^/acr/v1/${repository}/_streaming/${digest}$` })
    ).filter((entry) => entry.status === 202).length;
  }

  /** Delivers an event straight to a host's webhook, as Event Grid would (for duplicate-delivery tests). */
  async deliver(host: HostProcess, events: unknown[]): Promise<number> {
    const response = await fetch(this.webhook(host), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify(events),
    });
    await response.body?.cancel();
    return response.status;
  }

  /** The Event Grid event the emulator published for a pushed digest. */
  publishedPush(digest: string): unknown {
    return this.emulator.eventGrid
      .publishedEvents()
      .find(
        (event) =>
          (event.data as { target?: { digest?: string } }).target?.digest === digest &&
          event.eventType.endsWith('ImagePushed'),
      );
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((host) => host.stop()));
    await this.emulator.close();
  }
}

export const settled = (view: ConversionView): boolean => !['Pending', 'Running'].includes(view.status);
