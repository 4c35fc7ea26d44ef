import { z } from 'zod';

/**
 * What every part of the app says about an image: its key (registry, repository, digest), the states of its
 * conversion, and how its names become Table keys.
 */
export const conversionStatuses = [
  'Skipped',
  'Pending',
  'Running',
  'Succeeded',
  'Failed',
  'TimedOut',
  'Canceled',
  'Deleted',
] as const;
export type ConversionStatus = (typeof conversionStatuses)[number];

export interface ImageKey {
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
}

/** A record with the ETag it was read with; writes pass it back. */
export interface Versioned<T> {
  readonly value: T;
  readonly etag: string;
}

/** Repository names never contain `:`, so it stands in for `/` reversibly. */
export function repositoryKey(repository: string): string {
  return repository.replaceAll('/', ':');
}

export function describeImage(key: ImageKey): string {
  return `${key.registry}/${key.repository}@${key.digest.slice(0, 19)}`;
}

/**
 * Text that can become (part of) a Table key: no `/`, `\`, `#`, `?` or control characters. Queue message fields
 * that are turned into keys must pass it, so a junk message is rejected and ACKed instead of making the storage
 * call fail on every delivery until the message lands in `-poison` (test/e2e/hostile-queues.test.ts).
 */
export function tableKeyText(min: number, max: number, options: { slash?: 'allowed' } = {}): z.ZodString {
  // Repository names keep their `/` in messages: keys replace it with `:` (repositoryKey).
  const pattern = options.slash === 'allowed' ? /^[^\\#?\p{Cc}]*$/u : /^[^/\\#?\p{Cc}]*$/u;
  return z
    .string()
    .min(min)
    .max(max)
    .regex(pattern, `must not contain ${options.slash === 'allowed' ? '' : '/ '}\\ # ? or control characters`);
}
