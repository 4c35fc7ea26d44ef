import type { QueueClient } from '@azure/storage-queue';
import type { AuditMessage, AuditQueue } from '../audit/images.js';

/** Audit continuations as base64 JSON (the queue trigger's default encoding). */
export class StorageAuditQueue implements AuditQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(message: AuditMessage, delaySeconds: number): Promise<void> {
    await this.queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'), {
      visibilityTimeout: Math.min(Math.max(0, Math.round(delaySeconds)), 7 * 24 * 3600),
    });
  }
}
