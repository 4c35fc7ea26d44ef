import type { TrackingMessage, TrackingQueue } from '../../../lib/conversion/ports.js';

export interface SentMessage {
  readonly message: TrackingMessage;
  readonly delaySeconds: number;
}

/** Records what was enqueued, with its visibility delay; tests deliver messages by taking them. */
export class RecordingTrackingQueue implements TrackingQueue {
  /** Everything ever sent, in order. */
  readonly sent: SentMessage[] = [];
  private pending: SentMessage[] = [];

  send(message: TrackingMessage, delaySeconds: number): Promise<void> {
    const entry = { message: structuredClone(message), delaySeconds };
    this.sent.push(entry);
    this.pending.push(entry);
    return Promise.resolve();
  }

  /** Sent and not yet taken. */
  get waiting(): readonly SentMessage[] {
    return this.pending;
  }

  /** Removes and returns the oldest waiting message; throws when none is waiting. */
  take(): SentMessage {
    const next = this.pending.shift();
    if (next === undefined) throw new Error('no tracking message is waiting');
    return next;
  }

  last(): SentMessage | undefined {
    return this.sent.at(-1);
  }
}
