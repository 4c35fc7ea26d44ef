import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpResponseInit } from '@azure/functions';
import { HttpRequest, HttpResponse } from '../../lib/hosting/functions-runtime.js';
import { problemContentType, problemResponse } from '../../lib/http/problem.js';
import { isHttpFunction, type FunctionDeclaration, type HttpFunction } from '../../lib/hosting/catalog.js';
import { invokeEventGrid } from './eventgrid.js';
import { describe, type HostLogSink, type InvocationRunner } from './invocation.js';
import { checkKey, presentedKey, type HostKeys } from './keys.js';
import { compareRoutes, compileRoute, type CompiledRoute } from './route-template.js';
import { trustClientPrincipalSetting } from './settings.js';

/** Largest request body the host accepts (the Functions host's default limit is 100 MB). */
export const maxRequestBodyBytes = 100 * 1024 * 1024;
/** Azure Functions' URL limit, 4 KB (HTTP trigger docs, "Limits"). */
export const maxUrlBytes = 4_096;
/** The Azure Load Balancer's idle timeout: the caller gets 502 after 230 s (functions-timeout-duration.md). */
export const defaultResponseTimeoutMs = 230_000;

export interface HttpFrontOptions {
  readonly catalog: readonly FunctionDeclaration[];
  readonly keys: HostKeys;
  readonly runner: InvocationRunner;
  readonly log: HostLogSink;
  /** Invokes a non-HTTP function on demand (POST /admin/functions/{name}). */
  readonly invokeNonHttp: (declaration: FunctionDeclaration, input: string | undefined) => Promise<void>;
  readonly routePrefix?: string;
  /** How long a caller waits for a function's answer before the front end answers 502 (default 230 s). */
  readonly responseTimeoutMs?: number;
  /** Functions disabled because they failed indexing, with the host's message (filled in as triggers start). */
  readonly functionErrors?: ReadonlyMap<string, string>;
  /**
   * Pass `x-ms-client-principal*` headers through to functions. Off by default: in Azure, App Service
   * Authentication sets them after validating a token and drops any a client sends, so an untrusted local host
   * must drop them too. The sandbox turns this on (LOCAL_HOST_TRUST_CLIENT_PRINCIPAL=true) to act as any caller.
   */
  readonly trustClientPrincipal?: boolean;
}

/** How the local host tells a caller that it dropped a principal header, in a 401's detail and `errors`. */
const droppedPrincipalReason = `dropped by the local host: ${trustClientPrincipalSetting} is not "true"`;

interface RoutedFunction {
  readonly declaration: HttpFunction;
  readonly route: CompiledRoute;
}

type Reply = HttpResponseInit & { readonly status: number };

/**
 * Dispatches HTTP requests with the Functions host's URL conventions: `/api/{route}` for HTTP triggers,
 * `/runtime/webhooks/eventgrid?functionName=` for Event Grid triggers and `/admin/functions/{name}` to run any
 * other function by hand. Handlers receive real `HttpRequest` and `InvocationContext` objects.
 */
export function createHttpFront(
  options: HttpFrontOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const prefix = options.routePrefix ?? 'api';
  const routed: RoutedFunction[] = options.catalog
    .filter(isHttpFunction)
    .map((declaration) => ({ declaration, route: compileRoute(declaration.trigger.route) }));

  return async (request, response) => {
    let reply: Reply;
    if (Buffer.byteLength(request.url ?? '') > maxUrlBytes) {
      await writeReply(
        response,
        problem(414, 'URI too long', `The URL exceeds ${maxUrlBytes} bytes, the limit of Azure Functions.`),
      );
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    // As behind Azure's load balancer: the caller gets 502 after the timeout; the function runs on to its end.
    const timedOut = new Promise<Reply>((resolve) => {
      const timeoutMs = options.responseTimeoutMs ?? defaultResponseTimeoutMs;
      timer = setTimeout(
        () =>
          resolve(
            problem(502, 'Bad gateway', `The function did not answer within ${timeoutMs / 1000} s (Azure's limit).`),
          ),
        timeoutMs,
      );
    });
    try {
      reply = await Promise.race([dispatch(request, routed, prefix, options), timedOut]);
    } catch (error) {
      options.log({
        time: new Date().toISOString(),
        level: 'error',
        category: 'Host',
        message: `request failed: ${describe(error)}`,
      });
      reply = problemResponse(500, 'Internal error', 'The function failed; the details are in the host log.') as Reply;
    } finally {
      clearTimeout(timer);
    }
    await writeReply(response, reply);
  };
}

async function dispatch(
  request: IncomingMessage,
  routed: readonly RoutedFunction[],
  prefix: string,
  options: HttpFrontOptions,
): Promise<Reply> {
  const url = new URL(request.url ?? '/', 'http://host.invalid');
  const segments = splitPath(url.pathname);
  if (segments === undefined) return problem(400, 'Bad request', 'The path is not valid percent-encoding.');
  const method = (request.method ?? 'GET').toUpperCase();

  if (segments[0]?.toLowerCase() === prefix) {
    const reply = await dispatchApi(request, url, segments.slice(1), method, routed, options);
    return !options.trustClientPrincipal && carriesPrincipal(request) ? explainDroppedPrincipal(reply) : reply;
  }
  if (url.pathname.toLowerCase() === '/runtime/webhooks/eventgrid') {
    if (method !== 'POST') return problem(405, 'Method not allowed', 'The Event Grid webhook accepts POST only.');
    const check = checkKey('system', presentedKey(request.headers, url.searchParams), options.keys);
    if (check !== 'ok')
      return problem(401, 'Unauthorized', `The eventgrid_extension system key is ${check} (pass it as ?code=).`);
    const body = await readBody(request);
    if (body === 'too-large')
      return problem(413, 'Payload too large', `The body exceeds ${maxRequestBodyBytes} bytes.`);
    return invokeEventGrid({
      catalog: options.catalog,
      runner: options.runner,
      functionName: url.searchParams.get('functionName'),
      headers: request.headers,
      body,
      log: (message) =>
        options.log({ time: new Date().toISOString(), level: 'warning', category: 'Host.EventGrid', message }),
    });
  }
  if (segments[0] === 'admin' && segments[1] === 'functions' && segments.length === 3) {
    return dispatchAdminInvoke(request, url, segments[2]!, method, options);
  }
  if (segments[0] === 'admin' && segments[1] === 'host' && segments[2] === 'status' && method === 'GET') {
    const check = checkKey('admin', presentedKey(request.headers, url.searchParams), options.keys);
    if (check !== 'ok') return problem(401, 'Unauthorized', `The master key is ${check}.`);
    const errors = [...(options.functionErrors?.values() ?? [])];
    return {
      status: 200,
      jsonBody: {
        state: 'Running',
        functions: options.catalog
          .map((declaration) => declaration.name)
          .filter((name) => !options.functionErrors?.has(name)),
        ...(errors.length > 0 ? { errors } : {}),
      },
    };
  }
  return problem(404, 'Not found', `No route matches ${url.pathname}.`);
}

async function dispatchApi(
  request: IncomingMessage,
  url: URL,
  segments: readonly string[],
  method: string,
  routed: readonly RoutedFunction[],
  options: HttpFrontOptions,
): Promise<Reply> {
  const matches = routed
    .flatMap(({ declaration, route }) => {
      const params = route.match(segments);
      return params === undefined ? [] : [{ declaration, params, route }];
    })
    .sort((a, b) => compareRoutes(a.route, b.route));
  if (matches.length === 0) return problem(404, 'Not found', `No function serves ${url.pathname}.`);
  const match = matches.find(({ declaration }) => declaration.trigger.methods.some((allowed) => allowed === method));
  if (match === undefined) {
    const allowed = [...new Set(matches.flatMap(({ declaration }) => declaration.trigger.methods))].join(', ');
    return {
      ...problem(405, 'Method not allowed', `${method} is not allowed here; use ${allowed}.`),
      headers: { 'content-type': problemContentType, allow: allowed },
    };
  }
  const check = checkKey(
    match.declaration.trigger.authLevel,
    presentedKey(request.headers, url.searchParams),
    options.keys,
  );
  if (check !== 'ok') {
    return problem(
      401,
      'Unauthorized',
      `A ${match.declaration.trigger.authLevel === 'admin' ? 'master' : 'function'} key is ${check}: send it in the x-functions-key header or the code query parameter.`,
    );
  }
  const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(request);
  if (body === 'too-large') return problem(413, 'Payload too large', `The body exceeds ${maxRequestBodyBytes} bytes.`);
  const httpRequest = new HttpRequest({
    method,
    url: `http://${request.headers.host ?? '127.0.0.1'}${request.url ?? '/'}`,
    headers: flattenHeaders(request.headers, options.trustClientPrincipal ?? false),
    params: match.params,
    ...(body.length > 0 ? { body: { bytes: body } } : {}),
  });
  const result = await options.runner.invoke(
    match.declaration.name,
    'httpTrigger',
    { params: match.params },
    (context) => match.declaration.handler(httpRequest, context),
  );
  return toReply(result);
}

async function dispatchAdminInvoke(
  request: IncomingMessage,
  url: URL,
  name: string,
  method: string,
  options: HttpFrontOptions,
): Promise<Reply> {
  if (method !== 'POST') return problem(405, 'Method not allowed', 'Use POST to run a function.');
  const check = checkKey('admin', presentedKey(request.headers, url.searchParams), options.keys);
  if (check !== 'ok')
    return problem(401, 'Unauthorized', `The master key is ${check}: send it in the x-functions-key header.`);
  const declaration = options.catalog.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
  if (declaration === undefined) return problem(404, 'Not found', `No function named ${name}.`);
  const error = options.functionErrors?.get(declaration.name);
  if (error !== undefined) return problem(404, 'Not found', `${declaration.name} is disabled: ${error}`);
  if (declaration.trigger.type === 'http')
    return problem(400, 'Bad request', `${name} is an HTTP function; call its /api route.`);
  const body = await readBody(request);
  if (body === 'too-large') return problem(413, 'Payload too large', `The body exceeds ${maxRequestBodyBytes} bytes.`);
  let input: string | undefined;
  if (body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { input?: unknown };
      input =
        typeof parsed.input === 'string'
          ? parsed.input
          : parsed.input === undefined
            ? undefined
            : JSON.stringify(parsed.input);
    } catch {
      return problem(400, 'Bad request', 'The body must be JSON like {"input": "..."}.');
    }
  }
  // Like the real host: accepted now, run in the background; the outcome is in the host log.
  void options.invokeNonHttp(declaration, input).catch(() => undefined);
  return { status: 202 };
}

/**
 * Splits and percent-decodes path segments as Kestrel does: every escape but `%2F`, which stays as sent, so a
 * segment never gains a `/` (dotnet/aspnetcore#30655; aspnet/Mvc#4599). `..` and `.` were already resolved by URL
 * parsing.
 */
function splitPath(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) =>
        segment
          .split(/(%2F)/i)
          .map((part) => (/^%2F$/i.test(part) ? part : decodeURIComponent(part)))
          .join(''),
      );
  } catch {
    return undefined;
  }
}

function carriesPrincipal(request: IncomingMessage): boolean {
  return Object.keys(request.headers).some((name) => name.startsWith('x-ms-client-principal'));
}

/**
 * A 401 for a request whose principal this host dropped says so: otherwise "no caller identity" reads as if the
 * header were wrong, when the host never passed it on. The function's own problem document is kept and extended.
 */
function explainDroppedPrincipal(reply: Reply): Reply {
  if (reply.status !== 401) return reply;
  let original: { detail?: unknown; errors?: unknown } = {};
  try {
    if (typeof reply.body === 'string') original = JSON.parse(reply.body) as typeof original;
  } catch {
    // Not a problem document: the explanation below stands alone.
  }
  const detail = typeof original.detail === 'string' ? `${original.detail} ` : '';
  const others = Array.isArray(original.errors)
    ? (original.errors as Array<{ field?: unknown }>).filter(
        (error): error is { field: string; reason: string } => error.field !== 'headers.x-ms-client-principal',
      )
    : [];
  return problemResponse(
    401,
    'Unauthorized',
    `${detail}This local host dropped the x-ms-client-principal header the request carried: ` +
      `${trustClientPrincipalSetting} is not "true", so, as App Service Authentication does with a caller's own ` +
      'header, it passes no identity on. The sandbox (npm start) sets it; see README § Security model.',
    [...others, { field: 'headers.x-ms-client-principal', reason: droppedPrincipalReason }],
  ) as Reply;
}

/**
 * The server's `clientError` listener: a request Node could not parse gets a problem document like every other
 * refusal of this host, where Node's own answer is a bare status line (nodejs/node#25605: 431 on
 * HPE_HEADER_OVERFLOW, else 400; 408 on a request timeout). Azure's front end, Kestrel, answers 431 past 32 KB of
 * headers (KestrelServerLimits.MaxRequestHeadersTotalSize); this host keeps Node's {@link maxHeaderSize} (16 KiB,
 * request line included), so whatever it serves fits Azure too.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, title, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request header fields too large',
          `The request line and headers exceed ${maxHeaderSize} bytes, this local host's limit (Azure's is 32 KB).`,
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request timeout', 'The request was not received in time.']
        : [400, 'Bad request', 'The request is not valid HTTP/1.1.'];
  const body = problemResponse(status, title, detail).body as string;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? title}`,
    `content-type: ${problemContentType}`,
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

function flattenHeaders(headers: IncomingMessage['headers'], trustClientPrincipal: boolean): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!trustClientPrincipal && name.startsWith('x-ms-client-principal')) continue;
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

export async function readBody(request: IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > maxRequestBodyBytes) {
    request.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxRequestBodyBytes) return 'too-large';
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function toReply(result: unknown): Reply {
  if (result instanceof HttpResponse)
    return { status: result.status, headers: result.headers, body: result.body ?? undefined };
  const init = (result ?? {}) as HttpResponseInit;
  return { ...init, status: init.status ?? 200 };
}

function problem(status: number, title: string, detail: string): Reply {
  return problemResponse(status, title, detail) as Reply;
}

async function writeReply(response: ServerResponse, reply: Reply): Promise<void> {
  // HttpResponse applies the worker's own rules (jsonBody → JSON + content-type), so local replies match Azure's.
  const normalized = new HttpResponse(reply);
  const body = Buffer.from(await normalized.arrayBuffer());
  response.statusCode = reply.status;
  normalized.headers.forEach((value, name) => response.setHeader(name, value));
  if (body.length > 0 && !normalized.headers.has('content-length')) response.setHeader('content-length', body.length);
  response.end(body);
}
