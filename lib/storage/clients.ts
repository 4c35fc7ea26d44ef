import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
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

export function createStorageClients(settings: StorageSettings, credential?: TokenCredential): StorageClients {
  const insecure = settings.tableServiceUri.startsWith('http://');
  const tableOptions = { allowInsecureConnection: insecure };
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
  const identity =
    credential ?? new DefaultAzureCredential(settings.clientId ? { managedIdentityClientId: settings.clientId } : {});
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
