import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { EmulatorRequest, EmulatorResponse, ListenerInfo, RouteHandler } from './contract.js';
import { faultErrorCode, type FaultRule } from './faults.js';
import type { EmulatorState } from './state.js';

/**
 * The one place HTTP meets the feature modules: reads the body, applies injected faults, tries each
 * RouteHandler in order, writes the response and appends to the request log.
 */
export function requestListener(
  listener: ListenerInfo,
  handlers: () => readonly RouteHandler[],
  state: EmulatorState,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(listener, handlers(), state, req, res).catch((error: unknown) => {
      console.error('[emulator] unhandled error', error);
      if (!res.headersSent)
        send(res, req.method ?? 'GET', { status: 500, body: errorBody('INTERNAL_SERVER_ERROR', 'emulator error') });
      else res.destroy();
    });
  };
}

function errorBody(code: string, message: string): object {
  return { errors: [{ code, message, detail: null }] };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

async function handle(
  listener: ListenerInfo,
  handlers: readonly RouteHandler[],
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  // @azure/arm-authorization builds `{$host}/{scope}/providers/…` with a scope that starts with `/` (its documented
  // format), so its requests begin `//subscriptions/…`, which ARM accepts; URL parsing would read `subscriptions` as a
  // host, so the management listener folds the leading slashes first.
  const target = listener.kind === 'management' ? (req.url ?? '/').replace(/^\/{2,}/, '/') : (req.url ?? '/');
  const url = new URL(target, 'http://emulator.invalid');
  const request: EmulatorRequest = {
    method,
    path: safeDecode(url.pathname),
    rawPath: url.pathname,
    query: url.searchParams,
    headers: lowerCaseHeaders(req),
    body: await readBody(req),
    listener,
  };
  const log = (status: number, fault?: FaultRule | 'rate-limit'): void => {
    state.requestLog.append({
      time: state.clock.now().toISOString(),
      listener,
      method,
      path: request.path,
      query: url.search.replace(/^\?/, ''),
      status,
      ...(fault ? { fault: fault === 'rate-limit' ? fault : describeFault(fault) } : {}),
    });
  };

  const fault = state.faults.take(method, request.path, listener);
  if (fault?.action.kind === 'drop') {
    log(0, fault);
    req.socket.destroy();
    return;
  }
  if (fault?.action.kind === 'status') {
    const { status, retryAfterSeconds, code } = fault.action;
    const headers: Record<string, string> =
      retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
    send(
      res,
      method,
      { status, headers, body: errorBody(code ?? faultErrorCode(status), `injected fault ${fault.id}`) },
      listener,
    );
    log(status, fault);
    return;
  }
  if (fault?.action.kind === 'latency') await delay(fault.action.milliseconds);
  const waitSeconds = listener.kind === 'registry' ? state.registry(listener.registry)?.rateLimiter.take() : undefined;
  if (waitSeconds !== undefined) {
    const body = errorBody('TOOMANYREQUESTS', 'rate limit exceeded');
    send(res, method, { status: 429, headers: { 'retry-after': String(waitSeconds) }, body }, listener);
    log(429, 'rate-limit');
    return;
  }

  let response: EmulatorResponse | undefined;
  for (const handler of handlers) {
    response = await handler(request);
    if (response) break;
  }
  response ??= { status: 404, body: errorBody('NOT_FOUND', `no route for ${method} ${request.path}`) };
  send(res, method, response, listener);
  log(response.status, fault);
}

function describeFault(rule: FaultRule): string {
  const a = rule.action;
  const what =
    a.kind === 'status' ? `status ${a.status}` : a.kind === 'latency' ? `latency ${a.milliseconds}ms` : 'drop';
  return `${rule.id}: ${what}`;
}

function send(res: ServerResponse, method: string, response: EmulatorResponse, listener?: ListenerInfo): void {
  const headers: Record<string, string | readonly string[]> = {};
  if (listener?.kind === 'registry') {
    // Present on every ACR data-plane response; the CLI reads the correlation id into its errors.
    headers['docker-distribution-api-version'] = 'registry/2.0';
    headers['x-ms-correlation-request-id'] = randomUUID();
  }
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  let body: Buffer | undefined;
  if (Buffer.isBuffer(response.body)) body = response.body;
  else if (typeof response.body === 'string') {
    body = Buffer.from(response.body, 'utf8');
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (response.body !== undefined) {
    body = Buffer.from(JSON.stringify(response.body), 'utf8');
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  // HEAD keeps the Content-Length a GET would have (blob HEAD states the blob size without a body).
  if (!(method === 'HEAD' && headers['content-length'] !== undefined))
    headers['content-length'] = String(body?.length ?? 0);
  res.writeHead(response.status, headers as Record<string, string | string[]>);
  res.end(method === 'HEAD' ? undefined : body);
}
