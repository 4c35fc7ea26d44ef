import { ValidationError } from '../core/errors.js';

/**
 * Continuation tokens are the Table SDK's (base64 of JSON `{nextPartitionKey, nextRowKey?}`, read as Latin-1) and come
 * back from callers; one this app did not hand out must be a 400, not the SDK's SyntaxError or TypeError (a 500).
 */
export function pageSettings(page: { pageSize: number; continuationToken?: string }): {
  maxPageSize: number;
  continuationToken?: string;
} {
  if (!page.continuationToken) return { maxPageSize: page.pageSize };
  let keys: unknown;
  try {
    keys = JSON.parse(Buffer.from(page.continuationToken, 'base64').toString('latin1'));
  } catch {
    keys = undefined;
  }
  const { nextPartitionKey, nextRowKey } = (typeof keys === 'object' && keys !== null ? keys : {}) as {
    nextPartitionKey?: unknown;
    nextRowKey?: unknown;
  };
  if (typeof nextPartitionKey !== 'string' || (nextRowKey !== undefined && typeof nextRowKey !== 'string')) {
    throw new ValidationError('The continuationToken is not one this API returned.', [
      { field: 'query.continuationToken', reason: 'not a continuation token from a previous page' },
    ]);
  }
  return { maxPageSize: page.pageSize, continuationToken: page.continuationToken };
}
