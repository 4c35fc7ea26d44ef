import type { StorageClients } from './clients.js';
import type { StorageResourceNames } from './resources.js';

/**
 * Creates every table, queue (and its `-poison` twin, so operators can list it before anything failed) and
 * container the app uses. Idempotent: safe at every start and from several instances at once.
 */
export async function provisionStorage(clients: StorageClients, names: StorageResourceNames): Promise<void> {
  await Promise.all([
    ...Object.values(names.tables).map((table: string) => clients.table(table).createTable()),
    ...Object.values(names.queues).flatMap((queue: string) => [
      clients.queue(queue).createIfNotExists(),
      clients.queue(`${queue}-poison`).createIfNotExists(),
    ]),
    ...Object.values(names.containers).map(async (container: string) =>
      (await clients.container(container)).createIfNotExists(),
    ),
  ]);
}
