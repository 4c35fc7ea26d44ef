import type { HttpClient } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type * as BlobSdk from '@azure/storage-blob';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { StorageSettings } from '../config.js';

/**
 * Storage service clients for either kind of connection the Functions host accepts. Plain-http endpoints only
 * occur with Azurite on loopback, where the Tables SDK needs `allowInsecureConnection`.
 */
export interface StorageClients {
  readonly tableService: TableServiceClient;
  readonly queueService: QueueServiceClient;
  table(name: string): TableClient;
  queue(name: string): QueueClient;
  /**
   * A Blob container. The Blob SDK is imported on the first call (reports, the dev host's timers), not when the app
   * loads: the push path never needs it (issue #19 §1).
   */
  container(name: string): Promise<ContainerClient>;
}

export interface StorageClientOptions {
  /**
   * Entra ID credential for an identity-based connection (the app's managed identity, or the one named by
   * `AzureWebJobsStorage__clientId`); required then, unused with a connection string.
   */
  readonly credential?: TokenCredential;
  /** The Tables client's transport; Blob and Queue keep theirs (they take an older pipeline type). */
  readonly httpClient?: HttpClient;
}

export function createStorageClients(settings: StorageSettings, options: StorageClientOptions = {}): StorageClients {
  const insecure = settings.tableServiceUri.startsWith('http://');
  const tableOptions = {
    allowInsecureConnection: insecure,
    ...(options.httpClient ? { httpClient: options.httpClient } : {}),
  };
  if (settings.kind === 'connectionString' && settings.connectionString !== undefined) {
    const connectionString = settings.connectionString;
    const tableService = TableServiceClient.fromConnectionString(connectionString, tableOptions);
    const queueService = QueueServiceClient.fromConnectionString(connectionString);
    const blobService = blobServiceOnce((blob) => blob.BlobServiceClient.fromConnectionString(connectionString));
    return {
      tableService,
      queueService,
      table: (name) => TableClient.fromConnectionString(connectionString, name, tableOptions),
      queue: (name) => queueService.getQueueClient(name),
      container: async (name) => (await blobService()).getContainerClient(name),
    };
  }
  const identity = options.credential;
  if (identity === undefined)
    throw new Error('an identity-based storage connection needs a credential (AzureWebJobsStorage__accountName)');
  const tableService = new TableServiceClient(settings.tableServiceUri, identity, tableOptions);
  const queueService = new QueueServiceClient(settings.queueServiceUri, identity);
  const blobService = blobServiceOnce((blob) => new blob.BlobServiceClient(settings.blobServiceUri, identity));
  return {
    tableService,
    queueService,
    table: (name) => new TableClient(settings.tableServiceUri, name, identity, tableOptions),
    queue: (name) => queueService.getQueueClient(name),
    container: async (name) => (await blobService()).getContainerClient(name),
  };
}

/** One Blob service client, made once the Blob SDK is imported (on first use). */
function blobServiceOnce(create: (blob: typeof BlobSdk) => BlobServiceClient): () => Promise<BlobServiceClient> {
  let client: BlobServiceClient | undefined;
  return async () => (client ??= create(await import('@azure/storage-blob')));
}
