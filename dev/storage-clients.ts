import { DefaultAzureCredential } from '@azure/identity';
import type { StorageSettings } from '../lib/config.js';
import { createStorageClients, type StorageClients } from '../lib/storage/clients.js';

/**
 * Storage clients for the local host and `npm start`, which have no composition root of their own: a connection
 * string as is, or an identity-based connection with the identity the Functions host would use for it
 * (`{connection}__clientId`, else DefaultAzureCredential's choice).
 */
export function devStorageClients(settings: StorageSettings): StorageClients {
  if (settings.kind !== 'identity') return createStorageClients(settings);
  const credential = new DefaultAzureCredential(
    settings.clientId ? { managedIdentityClientId: settings.clientId } : {},
  );
  return createStorageClients(settings, { credential });
}
