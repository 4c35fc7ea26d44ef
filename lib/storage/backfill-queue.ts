import type { QueueClient } from '@azure/storage-queue';
import type { BackfillMessage, BackfillQueue } from '../policy/backfill-schedule.js';

/** `{prefix}-backfill`: base64 JSON, as the Functions queue trigger expects by default (like the tracking queue). */
export class StorageBackfillQueue implements BackfillQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(message: BackfillMessage, delaySeconds: number): Promise<void> {
    const text = Buffer.from(JSON.stringify(message)).toString('base64');
    // Queue visibility delays are capped at 7 days by the service.
    await this.queue.sendMessage(text, {
      visibilityTimeout: Math.min(Math.max(0, Math.round(delaySeconds)), 7 * 24 * 3600),
    });
  }
}
