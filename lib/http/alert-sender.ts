import { request as httpsRequest } from 'node:https';
import type { AlertSender, SendResult } from '../alerts/sender.js';
import { retryAfterMs } from '../core/retry-after.js';

/**
 * HTTPS POST with a timeout and no redirects; never throws for an unhealthy receiver, so the caller decides about
 * retries. `ca` replaces the trust store (tests against a local receiver); production uses the default one.
 */
export function httpSender(options: { timeoutMs?: number; ca?: string } = {}): AlertSender {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    send: ({ url, body, headers }) =>
      new Promise<SendResult>((resolve) => {
        const target = new URL(url);
        if (target.protocol !== 'https:') {
          resolve({ status: 0, error: 'not an https URL' });
          return;
        }
        const request = httpsRequest(
          target,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json; charset=utf-8',
              'content-length': Buffer.byteLength(body),
              ...headers,
            },
            timeout: timeoutMs,
            ...(options.ca ? { ca: options.ca } : {}),
          },
          (response) => {
            response.resume();
            response.on('end', () => {
              const retryAfter = retryAfterMs(
                typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : null,
              );
              resolve({
                status: response.statusCode ?? 0,
                ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
              });
            });
          },
        );
        request.on('timeout', () => request.destroy(new Error('timed out')));
        request.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ status: 0, error: error.code ?? error.message }),
        );
        request.end(body);
      }),
  };
}
