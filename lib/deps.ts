import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { loadConfig, type AppConfig } from './config.js';
import { ConversionApi } from './conversion/api.js';
import { ConversionService } from './conversion/service.js';
import { systemClock } from './conversion/ports.js';
import { PolicyService } from './policy/service.js';
import type { PolicyEffects } from './policy/ports.js';
import type { PolicyHttpDependencies } from './policy/http.js';
import { storedPolicySource } from './policy/source.js';
import { TablePolicyStore } from './policy/store.js';
import { RegistryClient } from './registry/client.js';
import { armReadiness } from './registry/readiness.js';
import { createStorageClients, type StorageClients } from './storage/clients.js';
import { TableConversionStore } from './storage/conversion-store.js';
import { TableOutbox } from './storage/outbox.js';
import { storageResourceNames, type StorageResourceNames } from './storage/resources.js';
import { StorageTrackingQueue } from './storage/tracking-queue.js';

/**
 * The composition root: everything handlers need, built lazily on first use and memoized, so nothing runs at
 * module load (an exception while loading the entry point would stop the whole Functions app).
 */
export interface AppDependencies {
  readonly config: AppConfig;
  readonly storage: StorageClients;
  readonly names: StorageResourceNames;
  readonly credential: TokenCredential;
  readonly registryClient: (registry: string) => RegistryClient;
  readonly conversions: ConversionService;
  readonly conversionStore: TableConversionStore;
  readonly conversionApi: ConversionApi;
  readonly policies: PolicyService;
  readonly policyHttp: PolicyHttpDependencies;
}

/** Until native mode and backfill land (issue #5), a policy change has no effect beyond being stored. */
const noPolicyEffects: PolicyEffects = { apply: () => Promise.resolve({}) };

export function createDependencies(env: Readonly<Record<string, string | undefined>> = process.env): AppDependencies {
  const config = loadConfig(env);
  const credential = new DefaultAzureCredential(config.managedIdentityClientId ? { managedIdentityClientId: config.managedIdentityClientId } : {});
  const storage = createStorageClients(config.storage);
  const names = storageResourceNames(config.storagePrefix);
  const clients = new Map<string, RegistryClient>();
  const registryClient = (name: string): RegistryClient => {
    let client = clients.get(name);
    if (client === undefined) {
      client = createRegistryClient(config, name, credential);
      clients.set(name, client);
    }
    return client;
  };
  const conversionStore = new TableConversionStore(storage.table(names.tables.conversions));
  const policyStore = new TablePolicyStore(storage.table(names.tables.policies), storage.table(names.tables.policyHistory));
  const policySource = storedPolicySource(policyStore, config.defaultPolicy);
  const readiness = armReadiness({ credential, armEndpoint: config.armEndpoint });
  const conversions = new ConversionService({
    registries: config.registries,
    gateway: registryClient,
    store: conversionStore,
    outbox: new TableOutbox(storage.table(names.tables.outbox)),
    queue: new StorageTrackingQueue(storage.queue(names.queues.tracking)),
    policies: policySource,
    readiness,
    settings: config.tracking,
    clock: systemClock,
  });
  const conversionApi = new ConversionApi(
    conversions,
    conversionStore,
    config.registries.map((registry) => registry.name),
    (registry, repository, tag) => registryClient(registry).resolveTag(repository, tag),
  );
  const policies = new PolicyService({
    store: policyStore,
    resolver: policySource,
    effects: noPolicyEffects,
    readiness: (registry, log) => readiness(config.registries.find((candidate) => candidate.name === registry)!, log),
    now: () => new Date(),
  });
  const policyHttp = { policies, registries: config.registries.map((registry) => registry.name) };
  return { config, storage, names, credential, registryClient, conversions, conversionStore, conversionApi, policies, policyHttp };
}

function createRegistryClient(config: AppConfig, name: string, credential: TokenCredential): RegistryClient {
  const registry = config.registries.find((candidate) => candidate.name === name);
  if (registry === undefined) throw new Error(`registry ${name} is not configured`);
  const credentials =
    registry.auth.type === 'password'
      ? { type: 'password' as const, username: registry.auth.username, password: config.registryPasswords.get(name)! }
      : { type: 'identity' as const, credential, audience: config.acrAudience };
  return new RegistryClient({ loginServer: registry.loginServer, credentials, concurrency: config.acrMaxConcurrency });
}

let memoized: AppDependencies | undefined;

export function getDependencies(): AppDependencies {
  memoized ??= createDependencies();
  return memoized;
}
