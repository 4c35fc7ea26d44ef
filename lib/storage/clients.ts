import type { HttpClient } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { StorageSettings } from '../config.js';

/**
 * Storage service clients for either kind of connection the Functions host accepts. Plain-http endpoints only
 * occur with Azurite on loopback, where the Tables SDK needs `allowInsecureConnection`.
 */
export interface StorageClients {
  readonly tableService: TableServiceClient;
  readonly queueService: QueueServiceClient;
  readonly blobService: BlobServiceClient;
  table(name: string): TableClient;
  queue(name: string): QueueClient;
  container(name: string): ContainerClient;
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
    const blobService = BlobServiceClient.fromConnectionString(connectionString);
    return {
      tableService,
      queueService,
      blobService,
      table: (name) => TableClient.fromConnectionString(connectionString, name, tableOptions),
      queue: (name) => queueService.getQueueClient(name),
      container: (name) => blobService.getContainerClient(name),
    };
  }
  const identity = options.credential;
  if (identity === undefined)
    throw new Error('an identity-based storage connection needs a credential (AzureWebJobsStorage__accountName)');
  const tableService = new TableServiceClient(settings.tableServiceUri, identity, tableOptions);
  const queueService = new QueueServiceClient(settings.queueServiceUri, identity);
  const blobService = new BlobServiceClient(settings.blobServiceUri, identity);
  return {
    tableService,
    queueService,
    blobService,
    table: (name) => new TableClient(settings.tableServiceUri, name, identity, tableOptions),
    queue: (name) => queueService.getQueueClient(name),
    container: (name) => blobService.getContainerClient(name),
  };
}
