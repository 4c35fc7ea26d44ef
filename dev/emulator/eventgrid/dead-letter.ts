/**
 * Dead-letter records as Event Grid writes them to blob storage: a JSON array holding the event plus
 * deadLetterReason, deliveryAttempts, lastDeliveryOutcome, [lastHttpStatusCode,] publishTime and
 * lastDeliveryAttemptTime, at `{SUBSCRIPTION-NAME-UPPER}/{yyyy}/{M}/{d}/{H}/{uuid}.json` (UTC, not zero-padded).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventGridEvent } from './events.js';

export interface DeadLetterRecord {
  readonly subscription: string;
  /** Absolute path of the written file. */
  readonly file: string;
  readonly event: EventGridEvent & {
    readonly deadLetterReason: string;
    readonly deliveryAttempts: number;
    readonly lastDeliveryOutcome: string;
    readonly lastHttpStatusCode?: number;
    readonly publishTime: string;
    readonly lastDeliveryAttemptTime: string;
  };
}

export interface DeadLetterInput {
  readonly directory: string;
  readonly subscription: string;
  readonly event: EventGridEvent;
  readonly reason: string;
  readonly attempts: number;
  readonly lastOutcome: string;
  readonly lastStatus: number | undefined;
  readonly publishTime: string;
  readonly lastAttemptTime: string;
  readonly now: Date;
}

export async function writeDeadLetter(input: DeadLetterInput): Promise<DeadLetterRecord> {
  const n = input.now;
  const folder = join(
    input.directory,
    input.subscription.toUpperCase(),
    String(n.getUTCFullYear()),
    String(n.getUTCMonth() + 1),
    String(n.getUTCDate()),
    String(n.getUTCHours()),
  );
  const event: DeadLetterRecord['event'] = {
    ...input.event,
    deadLetterReason: input.reason,
    deliveryAttempts: input.attempts,
    lastDeliveryOutcome: input.lastOutcome,
    ...(input.lastStatus !== undefined ? { lastHttpStatusCode: input.lastStatus } : {}),
    publishTime: input.publishTime,
    lastDeliveryAttemptTime: input.lastAttemptTime,
  };
  await mkdir(folder, { recursive: true });
  const file = join(folder, `${randomUUID()}.json`);
  await writeFile(file, JSON.stringify([event], null, 2));
  return { subscription: input.subscription, file, event };
}
