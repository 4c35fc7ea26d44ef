import type { HttpRequest } from '@azure/functions';
import type { z } from 'zod';
import {
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
  validationErrorFrom,
} from '../core/errors.js';

/** Request bodies this API accepts are small JSON documents. */
export const maxJsonBodyBytes = 64 * 1024;

export async function parseJsonBody<T>(request: HttpRequest, schema: z.ZodType<T>): Promise<T> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/(merge-patch\+)?json\b/i.test(contentType))
    throw new UnsupportedMediaTypeError('Send the body as application/json.', [
      { field: 'headers.content-type', reason: 'must be application/json' },
    ]);
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxJsonBodyBytes)
    throw new PayloadTooLargeError(`The body must be at most ${maxJsonBodyBytes} bytes.`);
  const text = await request.text();
  if (Buffer.byteLength(text) > maxJsonBodyBytes)
    throw new PayloadTooLargeError(`The body must be at most ${maxJsonBodyBytes} bytes.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ValidationError('The body is not valid JSON.', [{ field: 'body', reason: 'not valid JSON' }]);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw validationErrorFrom(result.error, 'body');
  return result.data;
}

export function parseParts<T>(value: unknown, schema: z.ZodType<T>, part: 'query' | 'params'): T {
  const result = schema.safeParse(value);
  if (!result.success) throw validationErrorFrom(result.error, part);
  return result.data;
}

/**
 * The host's own query parameters, which the worker still sees in the URL: `code` carries the function key (Microsoft
 * Learn, "Azure Functions HTTP trigger", § Authorization keys: "the key can be included in a query string variable
 * named `code`"); the host checks it and passes the URL on unchanged. No route reads them, so none refuses them.
 */
const hostQueryParameters = new Set(['code']);

/** The request's query as an object, without the host's own parameters (issue #18 § 3). */
export function queryObject(request: HttpRequest): Record<string, string> {
  return Object.fromEntries([...request.query.entries()].filter(([name]) => !hostQueryParameters.has(name)));
}
