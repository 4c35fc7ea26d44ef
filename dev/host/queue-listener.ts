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
    if (payload === undefined) {
      await poisonUndecodable(message);
      return;
    }
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

  /**
   * As the queue extension's MessageDecodingFailed handler (Azure/azure-sdk-for-net, Microsoft.Azure.WebJobs.
   * Extensions.Storage.Queues, QueueServiceClientProvider.cs): a warning, and the message goes to the poison queue
   * as it is, without invoking the function.
   */
  async function poisonUndecodable(message: DequeuedMessageItem): Promise<void> {
    hostLog('warning', `Message decoding has failed! Check MessageEncoding settings. MessageId=${message.messageId}.`);
    try {
      await poisonQueue.sendMessage(message.messageText);
      await queue.deleteMessage(message.messageId, message.popReceipt);
      settled(message, 'poisoned');
    } catch (storageError) {
      hostLog('error', `Could not move message ${message.messageId} to ${poisonQueue.name}: ${describe(storageError)}`);
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

/**
 * The message body under the configured encoding; undefined when it does not decode. Base64 is checked as .NET's
 * `Convert.FromBase64String` (which the queue SDK uses) checks it: the base64 alphabet, padding only at the end, a
 * length that is a multiple of 4 once whitespace is left out. Node's own decoder skips what it does not know.
 */
export function decode(text: string, encoding: QueueHostSettings['messageEncoding']): string | undefined {
  if (encoding === 'none') return text;
  const compact = text.replace(/[ \t\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * What the Node library hands a function for a message body: JSON text parsed — objects, arrays and scalars alike —
 * anything else as the string (@azure/functions, src/converters/fromRpcTypedData.ts, `tryJsonParse`).
 */
export function toTriggerValue(payload: string): unknown {
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return payload;
  }
}
