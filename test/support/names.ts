import { randomBytes } from 'node:crypto';

/** A storage prefix (and queue-name stem) unique to one test, so tests share an Azurite without interfering. */
export function uniquePrefix(stem = 't'): string {
  return `${stem}${randomBytes(5).toString('hex')}`;
}
