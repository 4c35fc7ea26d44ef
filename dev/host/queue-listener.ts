import type { QueueClient, DequeuedMessageItem } from '@azure/storage-queue';
import type { QueueFunction } from '../../lib/hosting/catalog.js';
import { describe, type HostLogSink, type InvocationRunner } from './invocation.js';

/** host.json `extensions.queues`, with the Functions host's defaults. */
export interface QueueHostSettings {
  readonly batchSize: number;
  readonly newBatchThreshold: number;
  readonly maxPollingIntervalMs: number;
  /** Delay before a failed message becomes visible again. */
  readonly visibilityTimeoutMs: number;
  readonly maxDequeueCount: number;
  readonly messageEncoding: 'base64' | 'none';
}

export const defaultQueueSettings: QueueHostSettings = {
  batchSize: 16,
  newBatchThreshold: 8,
  maxPollingIntervalMs: 60_000,
  visibilityTimeoutMs: 0,
  maxDequeueCount: 5,
  messageEncoding: 'base64',
};

/** How long a message stays invisible while its invocation runs (the host renews it; we size it to the timeout). */
const leaseSeconds = 600;
const minPollingIntervalMs = 100;

export interface QueueListener {
  stop(): Promise<void>;
}

/**
 * Polls one queue as the Functions host does: batches of `batchSize`, a new batch once in-flight messages drop to
 * `newBatchThreshold`, exponential back-off to `maxPollingInterval` while empty, delete on success, and on failure
 * either make the message visible again after `visibilityTimeout` or — once its dequeue count reaches
 * `maxDequeueCount` — move it to `<queue>-poison`.
 */
export function startQueueListener(
  declaration: QueueFunction,
  queue: QueueClient,
  poisonQueue: QueueClient,
  settings: QueueHostSettings,
  runner: InvocationRunner,
  log: HostLogSink,
): QueueListener {
  let stopped = false;
  let wake: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();
  let delay = minPollingIntervalMs;

  const hostLog = (level: 'information' | 'warning' | 'error', message: string): void =>
    log({ time: new Date().toISOString(), level, category: `Host.Queue.${declaration.name}`, message });

  const settled = (message: DequeuedMessageItem, disposition: 'deleted' | 'retry' | 'poisoned'): void => {
    runner.emit('messageSettled', { functionName: declaration.name, messageId: message.messageId, disposition });
  };

  async function processMessage(message: DequeuedMessageItem): Promise<void> {
    const payload = decode(message.messageText, settings.messageEncoding);
    const metadata = {
      id: message.messageId,
      dequeueCount: message.dequeueCount,
      insertionTime: message.insertedOn.toISOString(),
      expirationTime: message.expiresOn.toISOString(),
      nextVisibleTime: message.nextVisibleOn.toISOString(),
      popReceipt: message.popReceipt,
      queueTrigger: payload,
    };
    try {
      await runner.invoke(declaration.name, 'queueTrigger', metadata, (context) =>
        declaration.handler(toTriggerValue(payload), context),
      );
    } catch (error) {
      await handleFailure(message, error);
      return;
    }
    try {
      await queue.deleteMessage(message.messageId, message.popReceipt);
      settled(message, 'deleted');
    } catch (storageError) {
      hostLog(
        'error',
        `Could not delete message ${message.messageId} after success; it will be delivered again: ${describe(storageError)}`,
      );
    }
  }

  async function handleFailure(message: DequeuedMessageItem, error: unknown): Promise<void> {
    try {
      if (message.dequeueCount >= settings.maxDequeueCount) {
        await poisonQueue.sendMessage(message.messageText);
        await queue.deleteMessage(message.messageId, message.popReceipt);
        hostLog(
          'warning',
          `Message ${message.messageId} failed ${message.dequeueCount} time(s) and was moved to ${poisonQueue.name}: ${describe(error)}`,
        );
        settled(message, 'poisoned');
      } else {
        await queue.updateMessage(
          message.messageId,
          message.popReceipt,
          undefined,
          Math.ceil(settings.visibilityTimeoutMs / 1000),
        );
        settled(message, 'retry');
      }
    } catch (storageError) {
      // The lease will expire and the message reappear, so nothing is lost; the next attempt decides again.
      hostLog('error', `Could not release message ${message.messageId}: ${describe(storageError)}`);
    }
  }

  async function poll(): Promise<void> {
    while (!stopped) {
      if (inFlight.size > settings.newBatchThreshold) {
        await Promise.race(inFlight);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const response = await queue.receiveMessages({
          numberOfMessages: settings.batchSize,
          visibilityTimeout: leaseSeconds,
        });
        messages = response.receivedMessageItems;
      } catch (error) {
        hostLog('error', `Polling ${queue.name} failed: ${describe(error)}`);
      }
      for (const message of messages) {
        const work: Promise<void> = processMessage(message).finally(() => inFlight.delete(work));
        inFlight.add(work);
      }
      if (messages.length > 0) {
        delay = minPollingIntervalMs;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      delay = Math.min(delay * 2, settings.maxPollingIntervalMs);
    }
  }

  const loop = poll();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}

function decode(text: string, encoding: QueueHostSettings['messageEncoding']): string {
  return encoding === 'base64' ? Buffer.from(text, 'base64').toString('utf8') : text;
}

/** The Node worker hands JSON messages to handlers parsed, anything else as a string. */
export function toTriggerValue(payload: string): unknown {
  const trimmed = payload.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return payload;
    }
  }
  return payload;
}
