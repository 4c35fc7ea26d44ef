import type { HttpClient } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { alertChannelStatus, loadConfig, type AppConfig } from './config.js';
import { AlertService } from './alerts/service.js';
import { ConnectedRegistryAudit, classifyConnectedRegistry } from './audit/connected.js';
import { ImageAudit } from './audit/images.js';
import { AuditReportSource } from './audit/report-source.js';
import { liveConsumersSection } from './audit/consumers-section.js';
import { consumerAuditFor, type ConsumerAudit } from './consumers/audit.js';
import type { ConsumerSource } from './consumers/model.js';
import { TableConsumerStore } from './storage/consumer-store.js';
import { TableAuditStore } from './storage/audit-store.js';
import { SwitchReconciler } from './policy/drift.js';
import { armConnectedRegistries } from './registry/connected-registries.js';
import { armConsumerSource } from './registry/consumer-source.js';
import { eventSubscriptionCheck } from './registry/event-subscription.js';
import { StorageAuditQueue } from './storage/audit-queue.js';
import { httpSender } from './http/alert-sender.js';
import { cachedHealthStatus, type HealthStatusDependencies } from './http/routes/health.js';
import { TableAlertStore } from './storage/alert-store.js';
import { readImage } from './conversion/inspect.js';
import { listAll } from './conversion/ports.js';
import { ConversionApi } from './conversion/api.js';
import { BackfillWorker } from './conversion/backfill.js';
import { AcrPolicyEffects } from './policy/effects.js';
import { StorageBackfillQueue } from './storage/backfill-queue.js';
import { ConversionService } from './conversion/service.js';
import { systemClock } from './core/clock.js';
import { PolicyService } from './policy/service.js';
import { storedPolicySource } from './policy/source.js';
import { TablePolicyStore } from './storage/policy-store.js';
import { RegistryClient } from './registry/client.js';
import { SharedRegistryThrottle } from './registry/throttle.js';
import { TableThrottleStore } from './storage/throttle-store.js';
import { armReadiness } from './registry/readiness.js';
import { createStorageClients, type StorageClients } from './storage/clients.js';
import { TableConversionStore } from './storage/conversion-store.js';
import { StorageAlertQueue } from './storage/alert-queue.js';
import { silentLogger, type Logger } from './core/logging.js';
import type { RegistrySettings } from './core/registries.js';
import type { RegistryReadiness } from './policy/eligibility.js';
import { RetryCounters } from './telemetry/snapshot.js';
import { ReportService } from './reports/service.js';
import { BlobReportStore } from './storage/report-store.js';
import { appVersion } from './version.js';
import { TableOutbox } from './storage/outbox.js';
import { storageResourceNames, type StorageResourceNames } from './storage/resources.js';
import { StorageTrackingQueue } from './storage/tracking-queue.js';
import { DoctorApi } from './diagnosis/api.js';

/**
 * The composition root: everything handlers need, built lazily on first use and memoized, so nothing runs at
 * module load (an exception while loading the entry point would stop the whole Functions app).
 */
export interface AppDependencies {
  readonly config: AppConfig;
  /** The configured registries (REGISTRIES), by name, in configuration order. */
  readonly registryNames: readonly string[];
  /** Whether a registry can convert (ARM: Premium, no CMK), cached; `unknown` when ARM could not be read. */
  readonly readiness: (registry: RegistrySettings, log: Logger) => Promise<RegistryReadiness>;
  readonly storage: StorageClients;
  readonly names: StorageResourceNames;
  readonly credential: TokenCredential;
  readonly registryClient: (registry: string) => RegistryClient;
  readonly conversions: ConversionService;
  readonly conversionStore: TableConversionStore;
  readonly conversionApi: ConversionApi;
  readonly policies: PolicyService;
  readonly alerts: AlertService;
  readonly backfill: BackfillWorker;
  readonly imageAudit: ImageAudit;
  readonly connectedAudit: ConnectedRegistryAudit;
  /**
   * AKS clusters, registry network and role assignments through ARM (issue #20); its SDKs load on first use. Read
   * only when CONSUMER_SCOPES is set.
   */
  readonly consumerSource: ConsumerSource;
  /** Who streams (issue #20): the AKS clusters in CONSUMER_SCOPES against every registry; alerts on transitions. */
  readonly consumerAudit: ConsumerAudit;
  readonly auditStore: TableAuditStore;
  readonly reportSource: AuditReportSource;
  /** ACR retries by registry and status since the last health snapshot. */
  readonly acrRetries: RetryCounters;
  /** Compliance reports: generate (timer, POST /api/reports), list, serve the latest. */
  readonly reports: ReportService;
  /** The doctor (GET /api/registries/{registry}/diagnosis): why an image would not stream or not pull. */
  readonly doctor: DoctorApi;
}

/**
 * What the caller of the composition root may hand in instead of what Azure needs (the probot `createProbot({ env })`
 * pattern): tests and tools build the app against their own settings, identity or transport without emulating a
 * cloud; the Functions app passes nothing.
 */
export interface DependencyOptions {
  /** App settings; `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The identity for ACR, ARM and identity-based storage. By default a DefaultAzureCredential with the app's
   * managed identity (AZURE_CLIENT_ID), and for storage the one AzureWebJobsStorage__clientId names when it differs.
   */
  readonly credential?: TokenCredential;
  /**
   * The transport of ACR, ARM, Table Storage and the default credential (the Azure SDK's Node client by default).
   * Blob and Queue Storage keep their own: their SDKs take an older pipeline type.
   */
  readonly httpClient?: HttpClient;
  /**
   * Where the consumer audit, the report and the doctor read AKS clusters, the registry's network and role
   * assignments from; ARM through the SDKs (lib/registry/consumer-source.ts) unless a test hands in another.
   */
  readonly consumerSource?: ConsumerSource;
}

export function createDependencies(options: DependencyOptions = {}): AppDependencies {
  const config = loadConfig(options.env ?? process.env);
  const httpClient = options.httpClient;
  const transport = httpClient ? { httpClient } : {};
  const defaultCredential = (clientId: string | undefined): TokenCredential =>
    new DefaultAzureCredential({ ...(clientId ? { managedIdentityClientId: clientId } : {}), ...transport });
  const credential = options.credential ?? defaultCredential(config.managedIdentityClientId);
  // One identity for everything unless storage names another (AzureWebJobsStorage__clientId), as the host does.
  const storageCredential =
    options.credential ??
    (config.storage.clientId && config.storage.clientId !== config.managedIdentityClientId
      ? defaultCredential(config.storage.clientId)
      : credential);
  const storage = createStorageClients(config.storage, { credential: storageCredential, ...transport });
  const registryNames = config.registries.map((registry) => registry.name);
  const names = storageResourceNames(config.storagePrefix);
  const clients = new Map<string, RegistryClient>();
  const acrRetries = new RetryCounters();
  // Its warnings (storage could not be read) happen outside any invocation: the worker forwards console to the host.
  const throttles = config.acrSharedThrottle ? new TableThrottleStore(storage.table(names.tables.throttle)) : undefined;
  const registryClient = (name: string): RegistryClient => {
    let client = clients.get(name);
    if (client === undefined) {
      const throttle = throttles && new SharedRegistryThrottle(name, { store: throttles, log: console });
      client = createRegistryClient(config, name, credential, acrRetries, httpClient, throttle);
      clients.set(name, client);
    }
    return client;
  };
  const conversionStore = new TableConversionStore(storage.table(names.tables.conversions));
  const alertQueue = new StorageAlertQueue(storage.queue(names.queues.alerts));
  // A new outbox row is dispatched at once; the alert relay covers a notification that is lost.
  const outbox = new TableOutbox(storage.table(names.tables.outbox), (registry, eventId) =>
    alertQueue.send({ kind: 'dispatch', registry, eventId }, 0),
  );
  const policyStore = new TablePolicyStore(
    storage.table(names.tables.policies),
    storage.table(names.tables.policyHistory),
  );
  const policySource = storedPolicySource(policyStore, config.defaultPolicy);
  const arm = { credential, armEndpoint: config.armEndpoint, ...transport };
  const readiness = armReadiness(arm);
  const conversions = new ConversionService({
    registries: config.registries,
    gateway: registryClient,
    store: conversionStore,
    outbox,
    queue: new StorageTrackingQueue(storage.queue(names.queues.tracking)),
    policies: policySource,
    readiness,
    settings: config.tracking,
    clock: systemClock,
  });
  const conversionApi = new ConversionApi(conversions, conversionStore, registryNames, (registry, repository, tag) =>
    registryClient(registry).resolveTag(repository, tag),
  );
  const backfillQueue = new StorageBackfillQueue(storage.queue(names.queues.backfill));
  const auditStore = new TableAuditStore(storage.table(names.tables.audits));
  // One reconciler for ACR's switch, whoever looks at it (a policy change, the audit): a drift is alerted once.
  const switches = new SwitchReconciler({ registry: registryClient, store: auditStore, outbox, clock: systemClock });
  // The same policySource PolicyService invalidates, so effects see the policy just written.
  const policyEffects = new AcrPolicyEffects({
    native: { registry: registryClient, policies: policySource, switches },
    backfillQueue,
  });
  const backfill = new BackfillWorker({
    registries: registryNames,
    registry: registryClient,
    conversions,
    policies: policySource,
    queue: backfillQueue,
    clock: systemClock,
    settings: { runIntervalSeconds: config.backfill.runIntervalSeconds },
  });
  const policies = new PolicyService({
    store: policyStore,
    resolver: policySource,
    effects: policyEffects,
    readiness: (registry, log) =>
      readiness(
        config.registries.find((candidate) => candidate.name === registry)!,
        log,
      ),
    // The image a tag or digest names, read as the push path reads it, so an evaluation decides on the real one.
    image: (registry, repository, reference) => readImage(registryClient(registry), repository, reference),
    // Disabled channels (a secret that did not resolve) still exist: a policy naming one is not a mistake.
    alertChannels: () => [
      ...config.alerts.channels.map((channel) => channel.name),
      ...config.alerts.disabledChannels.keys(),
    ],
    now: () => new Date(),
  });
  const alerts = new AlertService({
    settings: config.alerts,
    outbox,
    store: new TableAlertStore(storage.table(names.tables.alerts)),
    queue: alertQueue,
    sender: httpSender(),
    policies: policySource,
    links: (registry) => ({
      ...(config.appBaseUrl ? { appBaseUrl: config.appBaseUrl } : {}),
      ...(config.registries.find((candidate) => candidate.name === registry)
        ? { registryResourceId: config.registries.find((candidate) => candidate.name === registry)!.resourceId }
        : {}),
    }),
    clock: systemClock,
  });
  const imageAudit = new ImageAudit({
    registries: config.registries,
    registry: registryClient,
    conversions: conversionStore,
    service: conversions,
    policies: policySource,
    readiness,
    store: auditStore,
    switches,
    queue: new StorageAuditQueue(storage.queue(names.queues.audits)),
    outbox,
    settings: {
      reverifySeconds: config.audit.reverifySeconds,
      requestBudget: config.audit.requestBudget,
      backfillBudget: config.audit.backfillBudget,
      quietSeconds: config.tracking.quietSeconds,
    },
    clock: systemClock,
  });
  const listConnected = armConnectedRegistries(arm);
  const connectedAudit = new ConnectedRegistryAudit({
    registries: config.registries,
    list: listConnected,
    store: auditStore,
    outbox,
    clock: systemClock,
    staleMinutes: config.audit.connectedStaleMinutes,
  });
  // Who streams (issue #20): ARM through the SDKs (lib/registry/consumer-source.ts, loaded on first use) unless a
  // test hands in another source; without CONSUMER_SCOPES the audit logs once that consumers are not configured and
  // the report says so, never calling ARM.
  const consumerSource = options.consumerSource ?? armConsumerSource(arm);
  const consumerScopes = config.consumerScopes;
  const consumerAudit = consumerAuditFor(consumerSource, consumerScopes, {
    registries: config.registries,
    store: new TableConsumerStore(storage.table(names.tables.consumers)),
    outbox,
    clock: systemClock,
  });
  const reportSource = new AuditReportSource({
    registries: config.registries,
    store: auditStore,
    drift: auditStore,
    // The conversion rows written since the latest audit: a report is current, not an hour old.
    conversionsSince: (registry, since) => listAll(conversionStore, registry, { since }),
    policies: policySource,
    readiness,
    connectedRegistries: async (registry, log) => {
      try {
        const reports = [];
        for await (const connected of listConnected(registry))
          reports.push(
            classifyConnectedRegistry(registry.name, connected, new Date(), config.audit.connectedStaleMinutes),
          );
        return reports;
      } catch (error) {
        log.warn(
          `connected registries of ${registry.name}: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`,
        );
        return undefined;
      }
    },
    consumers: liveConsumersSection(consumerSource, consumerScopes),
    eventSubscription: eventSubscriptionCheck(arm),
    log: silentLogger,
  });
  const reports = new ReportService({
    registries: registryNames,
    source: reportSource,
    store: new BlobReportStore(() => storage.container(names.containers.reports)),
    outbox,
    clock: systemClock,
    version: appVersion(),
    ...(config.appBaseUrl ? { appBaseUrl: config.appBaseUrl } : {}),
    alertChannels: alertChannelStatus(config),
  });
  const doctor = new DoctorApi(config.registries, (registry) => ({
    registry: registryClient(registry.name),
    readiness: (log) => readiness(registry, log),
    conversions: conversionStore,
    policies: policySource,
    // The doctor reads the one cluster it is asked about, in CONSUMER_SCOPES or not (Reader on it is enough).
    consumers: consumerSource,
    now: () => new Date(),
  }));
  return {
    config,
    storage,
    names,
    credential,
    registryClient,
    conversions,
    conversionStore,
    conversionApi,
    policies,
    registryNames,
    alerts,
    backfill,
    imageAudit,
    connectedAudit,
    consumerSource,
    consumerAudit,
    auditStore,
    reportSource,
    acrRetries,
    reports,
    readiness,
    doctor,
  };
}

function createRegistryClient(
  config: AppConfig,
  name: string,
  credential: TokenCredential,
  retries: RetryCounters,
  httpClient: HttpClient | undefined,
  throttle: SharedRegistryThrottle | undefined,
): RegistryClient {
  const registry = config.registries.find((candidate) => candidate.name === name);
  if (registry === undefined) throw new Error(`registry ${name} is not configured`);
  const credentials =
    registry.auth.type === 'password'
      ? { type: 'password' as const, username: registry.auth.username, password: config.registryPasswords.get(name)! }
      : { type: 'identity' as const, credential, audience: config.acrAudience };
  return new RegistryClient({
    loginServer: registry.loginServer,
    credentials,
    concurrency: config.acrMaxConcurrency,
    onRetry: (event) => retries.record(name, event.status),
    ...(httpClient ? { httpClient } : {}),
    ...(throttle ? { throttle } : {}),
  });
}

let memoized: AppDependencies | undefined;

export function getDependencies(): AppDependencies {
  memoized ??= createDependencies();
  return memoized;
}

let healthStatus: HealthStatusDependencies | undefined;

/**
 * The anonymous health status's own root, kept for the worker's life so its probe cache is: it builds
 * {@link getDependencies} only when it probes, so an invalid configuration makes it `degraded` instead of failing.
 */
export function getHealthStatus(): HealthStatusDependencies {
  healthStatus ??= cachedHealthStatus(getDependencies, systemClock);
  return healthStatus;
}
