import { timingSafeEqual } from 'node:crypto';
import type { AuthLevel } from '../../lib/hosting/catalog.js';

/**
 * The host's keys, as the Functions host keeps them: function keys (any authorizes `function` level), the master
 * key (authorizes everything, required for `admin`) and system keys for extensions (the Event Grid webhook
 * requires `eventgrid_extension`).
 */
export interface HostKeys {
  readonly functionKeys: readonly string[];
  readonly masterKey: string;
  readonly eventGridKey: string;
}

export type KeyCheck = 'ok' | 'missing' | 'invalid';

/** Presented key: `x-functions-key` header first, then the `code` query parameter, as the host reads them. */
export function presentedKey(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  query: URLSearchParams,
): string | undefined {
  const header = headers['x-functions-key'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  return fromHeader ?? query.get('code') ?? undefined;
}

export function checkKey(level: AuthLevel | 'system', presented: string | undefined, keys: HostKeys): KeyCheck {
  if (level === 'anonymous') return 'ok';
  if (presented === undefined || presented === '') return 'missing';
  const accepted =
    level === 'admin'
      ? [keys.masterKey]
      : level === 'system'
        ? [keys.eventGridKey, keys.masterKey]
        : [...keys.functionKeys, keys.masterKey];
  return accepted.some((key) => sameSecret(key, presented)) ? 'ok' : 'invalid';
}

function sameSecret(expected: string, presented: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
