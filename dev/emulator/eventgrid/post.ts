/** One webhook POST with Event Grid's response timeout. Uses node:http(s) so an emulator-CA agent can be passed. */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type Agent } from 'node:https';
import type { AttemptResult } from './retry.js';

export interface PostOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** For https endpoints: an agent trusting the emulator CA (takes precedence over `ca`). */
  readonly httpsAgent?: Agent | undefined;
  readonly ca?: string | Buffer | undefined;
}

export type PostResult = AttemptResult & { readonly body?: string; readonly durationMs: number };

const MAX_BODY = 64 * 1024;

export function postJson(url: string, body: string, options: PostOptions): Promise<PostResult> {
  const started = Date.now();
  const payload = Buffer.from(body, 'utf8');
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult & { body?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: Date.now() - started });
    };
    const target = new URL(url);
    const headers = { ...options.headers, 'content-length': String(payload.length) };
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
      });
      response.on('end', () =>
        finish({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', (error) => finish({ failure: 'NetworkError', message: error.message }));
    };
    const request =
      target.protocol === 'https:'
        ? httpsRequest(
            target,
            {
              method: 'POST',
              headers,
              ...(options.httpsAgent ? { agent: options.httpsAgent } : options.ca ? { ca: options.ca } : {}),
            },
            onResponse,
          )
        : httpRequest(target, { method: 'POST', headers }, onResponse);
    const timer = setTimeout(() => {
      finish({ failure: 'TimedOut', message: `no response within ${options.timeoutMs} ms` });
      request.destroy();
    }, options.timeoutMs);
    request.on('error', (error) => finish({ failure: 'NetworkError', message: error.message }));
    request.end(payload);
  });
}
