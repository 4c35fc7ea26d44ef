import type { QueueClient } from '@azure/storage-queue';
import type { AlertMessage } from '../alerts/service.js';
import type { AlertQueue } from '../alerts/ports.js';

/** Alert messages as base64 JSON (the queue trigger's default encoding), delayed by visibility timeout. */
export class StorageAlertQueue implements AlertQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(message: AlertMessage, delaySeconds: number): Promise<void> {
    await this.queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'), {
      visibilityTimeout: Math.min(Math.max(0, Math.round(delaySeconds)), 7 * 24 * 3600),
    });
  }
}
