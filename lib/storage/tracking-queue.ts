import type { QueueClient } from '@azure/storage-queue';
import type { TrackingMessage, TrackingQueue } from '../conversion/ports.js';

/** Storage queue messages are base64 JSON, as the Functions queue trigger expects by default. */
export class StorageTrackingQueue implements TrackingQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(message: TrackingMessage, delaySeconds: number): Promise<void> {
    const text = Buffer.from(JSON.stringify(message)).toString('base64');
    // Queue visibility delays are capped at 7 days by the service.
    await this.queue.sendMessage(text, {
      visibilityTimeout: Math.min(Math.max(0, Math.round(delaySeconds)), 7 * 24 * 3600),
    });
  }
}
