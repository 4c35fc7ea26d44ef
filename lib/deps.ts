import { loadConfig, type AppConfig } from './config.js';
import { createStorageClients, type StorageClients } from './storage/clients.js';
import { storageResourceNames, type StorageResourceNames } from './storage/resources.js';

/**
 * The composition root: everything handlers need, built lazily on first use and memoized, so nothing runs at
 * module load (an exception while loading the entry point would stop the whole Functions app).
 */
export interface AppDependencies {
  readonly config: AppConfig;
  readonly storage: StorageClients;
  readonly names: StorageResourceNames;
}

export function createDependencies(env: Readonly<Record<string, string | undefined>> = process.env): AppDependencies {
  const config = loadConfig(env);
  return {
    config,
    storage: createStorageClients(config.storage),
    names: storageResourceNames(config.storagePrefix),
  };
}

let memoized: AppDependencies | undefined;

export function getDependencies(): AppDependencies {
  memoized ??= createDependencies();
  return memoized;
}
