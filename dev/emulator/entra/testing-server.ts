/**
 * A tiny HTTPS/HTTP host for feature modules, used by their integration tests before (and independently of) the
 * emulator core. The request→EmulatorRequest conversion and EmulatorResponse writer are exported so the core can
 * reuse them if it wants identical semantics.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { EmulatorRequest, EmulatorResponse, ListenerInfo, RouteHandler } from '../contract.js';

/** Reads the whole body and splits path and query, as the contract promises feature modules. */
export async function toEmulatorRequest(request: IncomingMessage, listener: ListenerInfo): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const rawUrl = request.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: (request.method ?? 'GET').toUpperCase(),
    path: safeDecode(rawPath),
    rawPath,
    query: new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1)),
    headers,
    body: Buffer.concat(chunks),
    listener,
  };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Writes an EmulatorResponse: objects become JSON with `application/json; charset=utf-8` unless a type is set. */
export function writeEmulatorResponse(response: ServerResponse, result: EmulatorResponse): void {
  const headers: Record<string, string | readonly string[]> = { ...(result.headers ?? {}) };
  const hasContentType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  let body: Buffer | undefined;
  if (result.body === undefined) {
    body = undefined;
  } else if (Buffer.isBuffer(result.body)) {
    body = result.body;
  } else if (typeof result.body === 'string') {
    body = Buffer.from(result.body, 'utf8');
  } else {
    body = Buffer.from(JSON.stringify(result.body), 'utf8');
    if (!hasContentType) headers['content-type'] = 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(body?.length ?? 0);
  response.writeHead(result.status, headers as Record<string, string | string[]>);
  response.end(body);
}

/** Tries each handler in order; the first non-undefined response wins, else 404. */
export async function dispatch(handlers: readonly RouteHandler[], request: EmulatorRequest): Promise<EmulatorResponse> {
  for (const handler of handlers) {
    const result = await handler(request);
    if (result !== undefined) return result;
  }
  return {
    status: 404,
    body: { error: { code: 'NotFound', message: `No route for ${request.method} ${request.path}` } },
  };
}

export interface TestingServerOptions {
  readonly handlers: readonly RouteHandler[];
  /** PEM certificate chain and key; omit for plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly listener?: ListenerInfo;
}

export interface TestingServer {
  /** `https://127.0.0.1:PORT` (or http). */
  readonly url: string;
  readonly port: number;
  /** Every request seen, in order (method, path, status), for "what did the SDK call" assertions. */
  readonly requests: { method: string; path: string; query: string; status: number }[];
  close(): Promise<void>;
}

/** Starts a server bound to 127.0.0.1 on an ephemeral port that dispatches to the given handlers. */
export async function startTestingServer(options: TestingServerOptions): Promise<TestingServer> {
  const listener: ListenerInfo = options.listener ?? { kind: 'management' };
  const requests: TestingServer['requests'] = [];
  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const request = await toEmulatorRequest(req, listener);
      const result = await dispatch(options.handlers, request);
      requests.push({
        method: request.method,
        path: request.path,
        query: request.query.toString(),
        status: result.status,
      });
      writeEmulatorResponse(res, result);
    } catch (error) {
      writeEmulatorResponse(res, { status: 500, body: { error: { code: 'InternalError', message: String(error) } } });
    }
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest)
    : createHttpServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
